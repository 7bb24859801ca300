package dev.tinyrt.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A checkpoint split over several safetensors files, described by a Hugging Face style
 * {@code model.safetensors.index.json}: {@code {"metadata": {...}, "weight_map": {"tensor": "shard file"}}}.
 * Shard paths are resolved against the index's folder and may not leave it. All shards are mapped on open and
 * every tensor the index names is checked to exist in its shard; tensors a shard holds but the index does not
 * name are not exposed.
 */
public final class ShardedSafetensors implements TensorSource {
    /** Index file name that {@link Checkpoints} and {@link SafetensorsWriter#writeSharded} use. */
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final ObjectMapper INDEX_READER = new ObjectMapper(SafetensorsHeader.JSON.rebuild()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
    private final Path indexFile;
    private final Map<String, SafetensorsFile> shardOf; // sorted by tensor name
    private final List<SafetensorsFile> shards;
    private final List<String> names;
    private final Map<String, String> metadata;

    private ShardedSafetensors(Path indexFile, Map<String, SafetensorsFile> shardOf, List<SafetensorsFile> shards,
                               Map<String, String> metadata) {
        this.indexFile = indexFile;
        this.shardOf = shardOf;
        this.shards = shards;
        this.names = List.copyOf(shardOf.keySet());
        this.metadata = metadata;
    }

    /**
     * Opens the index and maps every shard it names.
     *
     * @throws SafetensorsFormatException if the index or a shard is malformed, or the index names a tensor its
     *                                    shard lacks
     * @throws TinyrtException            if a file is missing or unreadable
     */
    public static ShardedSafetensors open(Path indexJson) {
        Map<String, String> weightMap = new TreeMap<>();
        Map<String, String> indexMetadata = new LinkedHashMap<>();
        readIndex(indexJson, weightMap, indexMetadata);

        Path folder = indexJson.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> byShardName = new TreeMap<>();
        try {
            for (String shardName : new TreeSet<>(weightMap.values())) {
                byShardName.put(shardName, SafetensorsFile.open(resolveShard(indexJson, folder, shardName)));
            }
            Map<String, SafetensorsFile> shardOf = new TreeMap<>();
            for (var e : weightMap.entrySet()) {
                SafetensorsFile shard = byShardName.get(e.getValue());
                if (!shard.contains(e.getKey())) {
                    throw SafetensorsFormatException.of(indexJson, e.getKey(), "the index maps it to "
                            + e.getValue() + ", which has no such tensor");
                }
                shardOf.put(e.getKey(), shard);
            }
            // Shard metadata first (first shard wins on conflicts), then the index's own metadata on top.
            Map<String, String> merged = new LinkedHashMap<>();
            for (SafetensorsFile shard : byShardName.values()) {
                shard.metadata().forEach(merged::putIfAbsent);
            }
            merged.putAll(indexMetadata);
            return new ShardedSafetensors(indexJson, Collections.unmodifiableMap(shardOf),
                    List.copyOf(byShardName.values()), Collections.unmodifiableMap(merged));
        } catch (RuntimeException | Error e) {
            byShardName.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static void readIndex(Path indexJson, Map<String, String> weightMap, Map<String, String> metadata) {
        JsonNode root;
        try (InputStream in = Files.newInputStream(indexJson)) {
            if (Files.size(indexJson) > SafetensorsHeader.MAX_HEADER_BYTES) {
                throw SafetensorsFormatException.of(indexJson, "index is larger than "
                        + SafetensorsHeader.MAX_HEADER_BYTES + " bytes");
            }
            root = INDEX_READER.readTree(in);
        } catch (NoSuchFileException e) {
            throw new TinyrtException("no such sharded checkpoint index: " + indexJson);
        } catch (JacksonException e) {
            throw new SafetensorsFormatException(indexJson + ": index is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + indexJson + ": " + e, e);
        }
        if (root == null || !root.isObject()) {
            throw SafetensorsFormatException.of(indexJson, "index is not a JSON object");
        }
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw SafetensorsFormatException.of(indexJson, "index has no \"weight_map\" object");
        }
        for (var e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw SafetensorsFormatException.of(indexJson, e.getKey(), "weight_map value is not a file name");
            }
            weightMap.put(e.getKey(), e.getValue().asText());
        }
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject()) {
            // Hugging Face writes numbers here (total_size); keep their JSON text.
            for (var e : meta.properties()) {
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
            }
        } else if (meta != null && !meta.isNull()) {
            throw SafetensorsFormatException.of(indexJson, "index \"metadata\" is not a JSON object");
        }
    }

    private static Path resolveShard(Path indexJson, Path folder, String shardName) {
        Path shard;
        try {
            shard = folder.resolve(shardName).normalize();
        } catch (InvalidPathException e) {
            throw SafetensorsFormatException.of(indexJson, "invalid shard file name "
                    + SafetensorsFormatException.quote(shardName));
        }
        if (shardName.isEmpty() || Path.of(shardName).isAbsolute() || !shard.startsWith(folder.normalize())
                || shard.equals(folder.normalize())) {
            throw SafetensorsFormatException.of(indexJson, "shard " + SafetensorsFormatException.quote(shardName)
                    + " is not a file inside " + folder);
        }
        return shard;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return shardOf.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return shard(name).info(name);
    }

    /** {@inheritDoc} After close this throws IllegalStateException. */
    @Override
    public MemorySegment data(String name) {
        return shard(name).data(name);
    }

    /** The shard file holding {@code name}; {@link TensorInfo#byteOffset()} is relative to its data section. */
    public Path shardPath(String name) {
        return shard(name).path();
    }

    /** The shard files, sorted by name. */
    public List<Path> shardPaths() {
        List<Path> paths = new ArrayList<>();
        shards.forEach(s -> paths.add(s.path()));
        return paths;
    }

    private SafetensorsFile shard(String name) {
        SafetensorsFile shard = shardOf.get(name);
        if (shard == null) {
            throw new TinyrtException(indexFile + ": no tensor " + SafetensorsFormatException.quote(String.valueOf(name))
                    + " (the checkpoint has " + shardOf.size() + " tensors)");
        }
        return shard;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Path path() {
        return indexFile;
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }

    @Override
    public String toString() {
        return "ShardedSafetensors[" + indexFile + ", " + shards.size() + " shards, " + names.size() + " tensors]";
    }
}
