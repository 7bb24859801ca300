package dev.tinyrt.io;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tinyrt.TinyrtException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Collects tensors, then streams them to a safetensors file: only references are held until {@link #write}, which
 * copies through a small staging buffer, so a multi-GB model is never duplicated on the heap. The header is laid out
 * like the Rust safetensors crate's (__metadata__ first, padded with spaces to a multiple of 8 bytes); tensors keep
 * the order they were added in. Added segments and arrays must stay alive and unchanged until written.
 * Not thread-safe.
 */
public final class SafetensorsWriter {
    private static final int STAGING_BYTES = 4 << 20;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();

    private record Pending(String name, DType dtype, long[] shape, long byteLength, Payload payload) {
    }

    /** Tensor bytes written in staging-buffer chunks. */
    private interface Payload {
        /** Fills {@code staging} from byte {@code from} of the tensor on; returns how many bytes it wrote. */
        int fill(MemorySegment staging, long from, long byteLength);
    }

    private record RawBytes(MemorySegment bytes) implements Payload {
        @Override
        public int fill(MemorySegment staging, long from, long byteLength) {
            int n = (int) Math.min(staging.byteSize(), byteLength - from);
            MemorySegment.copy(bytes, from, staging, 0, n);
            return n;
        }
    }

    private record ConvertedFloats(DType dtype, float[] values) implements Payload {
        @Override
        public int fill(MemorySegment staging, long from, long byteLength) {
            int size = dtype.byteSize();
            int first = (int) (from / size);
            int count = (int) Math.min(staging.byteSize() / size, values.length - first);
            for (int i = 0; i < count; i++) {
                float v = values[first + i];
                switch (dtype) {
                    case F32 -> staging.setAtIndex(FloatDecoding.F32_LE, i, v);
                    case F16 -> staging.setAtIndex(FloatDecoding.I16_LE, i, Numerics.floatToF16(v));
                    case BF16 -> staging.setAtIndex(FloatDecoding.I16_LE, i, Numerics.floatToBf16(v));
                    case F8_E4M3 -> staging.set(ValueLayout.JAVA_BYTE, i, Numerics.floatToE4m3(v));
                    default -> throw new IllegalStateException("unreachable: " + dtype);
                }
            }
            return count * size;
        }
    }

    /** Adds (or replaces) a "__metadata__" entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Adds a tensor whose little-endian bytes are written as they are.
     *
     * @throws IllegalArgumentException for a duplicate or reserved name, a negative dim, or
     *                                  {@code bytes.byteSize() != numel * dtype.byteSize()}
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, MemorySegment bytes) {
        long byteLength = checkedByteLength(name, dtype, shape);
        if (bytes.byteSize() != byteLength) {
            throw new IllegalArgumentException("tensor " + name + " " + dtype + Arrays.toString(shape) + " needs "
                    + byteLength + " bytes, got " + bytes.byteSize());
        }
        return put(new Pending(name, dtype, shape.clone(), byteLength, new RawBytes(bytes)));
    }

    /**
     * Adds fp32 values to be stored as {@code dtype} (F32, F16, BF16 or F8_E4M3), converted with {@link Numerics}
     * while writing.
     *
     * @throws IllegalArgumentException for another dtype, {@code values.length != numel}, or as {@link #add}
     */
    public SafetensorsWriter addFloats(String name, DType dtype, long[] shape, float[] values) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16 && dtype != DType.F8_E4M3) {
            throw new IllegalArgumentException("addFloats converts to F32, F16, BF16 or F8_E4M3, not " + dtype);
        }
        long byteLength = checkedByteLength(name, dtype, shape);
        if (values.length != byteLength / dtype.byteSize()) {
            throw new IllegalArgumentException("tensor " + name + " of shape " + Arrays.toString(shape) + " needs "
                    + byteLength / dtype.byteSize() + " values, got " + values.length);
        }
        return put(new Pending(name, dtype, shape.clone(), byteLength, new ConvertedFloats(dtype, values)));
    }

    /** Names added so far, in order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    private long checkedByteLength(String name, DType dtype, long[] shape) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        if (name.equals(SafetensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException(SafetensorsHeader.METADATA_KEY + " is reserved, not a tensor name");
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " was already added");
        }
        try {
            return TensorInfo.byteLengthOf(dtype, shape);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor " + name + " shape " + Arrays.toString(shape) + " overflows");
        }
    }

    private SafetensorsWriter put(Pending pending) {
        tensors.put(pending.name, pending);
        return this;
    }

    /**
     * Writes all tensors to {@code file} atomically: into {@code file.tmp}, flushed to disk, then renamed over
     * {@code file} (parent folders are created). The writer stays usable.
     *
     * @throws TinyrtException on an I/O error (the temporary file is removed)
     */
    public void write(Path file) {
        writeFile(file, List.copyOf(tensors.values()), metadata);
    }

    /**
     * Writes {@code tensors} into {@code directory} as Hugging Face style shards
     * {@code model-00001-of-0000N.safetensors}, each holding whole tensors in the order added and at most
     * {@code maxShardBytes} of data (a bigger tensor gets a shard of its own), every shard carrying the writer's
     * metadata; then writes {@value ShardedSafetensors#INDEX_FILE} with {@code "metadata": {"total_size": bytes}}
     * and the weight map sorted by tensor name. The index is written last, so a failure never leaves an index
     * pointing at missing shards.
     */
    public static void writeSharded(SafetensorsWriter tensors, Path directory, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<List<Pending>> shards = new ArrayList<>();
        List<Pending> current = new ArrayList<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (Pending t : tensors.tensors.values()) {
            if (!current.isEmpty() && currentBytes + t.byteLength > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += t.byteLength;
            totalBytes += t.byteLength;
        }
        shards.add(current);

        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String shardName = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            writeFile(directory.resolve(shardName), shards.get(i), tensors.metadata);
            for (Pending t : shards.get(i)) {
                weightMap.put(t.name, shardName);
            }
        }
        ByteArrayOutputStream json = new ByteArrayOutputStream();
        try (JsonGenerator g = SafetensorsHeader.JSON.createGenerator(json)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeObjectFieldStart("metadata");
            g.writeNumberField("total_size", totalBytes);
            g.writeEndObject();
            g.writeObjectFieldStart("weight_map");
            for (var e : weightMap.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory JSON cannot fail", e);
        }
        json.write('\n');
        byte[] indexBytes = json.toByteArray();
        writeAtomically(directory.resolve(ShardedSafetensors.INDEX_FILE),
                channel -> writeFully(channel, ByteBuffer.wrap(indexBytes)));
    }

    private static void writeFile(Path file, List<Pending> list, Map<String, String> metadata) {
        byte[] header = header(list, metadata);
        writeAtomically(file, channel -> {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).flip();
            writeFully(channel, prefix);
            writeFully(channel, ByteBuffer.wrap(header));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment staging = arena.allocate(STAGING_BYTES, 8);
                for (Pending t : list) {
                    for (long written = 0; written < t.byteLength; ) {
                        int n = t.payload.fill(staging, written, t.byteLength);
                        writeFully(channel, staging.asSlice(0, n).asByteBuffer());
                        written += n;
                    }
                }
            }
        });
    }

    /** JSON header padded with spaces to a multiple of 8 bytes, like the Rust crate writes it. */
    private static byte[] header(List<Pending> list, Map<String, String> metadata) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = SafetensorsHeader.JSON.createGenerator(out)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart(SafetensorsHeader.METADATA_KEY);
                for (var e : metadata.entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (Pending t : list) {
                g.writeObjectFieldStart(t.name);
                g.writeStringField("dtype", t.dtype.safetensorsName());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + t.byteLength);
                g.writeEndArray();
                g.writeEndObject();
                offset += t.byteLength;
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory JSON cannot fail", e);
        }
        while (out.size() % 8 != 0) {
            out.write(' ');
        }
        if (out.size() > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new TinyrtException("safetensors header would be " + out.size() + " bytes, over the "
                    + SafetensorsHeader.MAX_HEADER_BYTES + "-byte limit readers enforce");
        }
        return out.toByteArray();
    }

    private interface ChannelWriter {
        void write(FileChannel channel) throws IOException;
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static void writeAtomically(Path file, ChannelWriter body) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(channel);
                channel.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new TinyrtException("cannot write " + file + ": " + e, e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the original failure is the one worth reporting
        }
    }
}
