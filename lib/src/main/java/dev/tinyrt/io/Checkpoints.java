package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Opens whatever safetensors checkpoint a file or folder holds. */
public final class Checkpoints {
    /** Names looked for in a folder, in order; after them, a single *.safetensors file of any name. */
    public static final List<String> LOOKUP_ORDER =
            List.of(ShardedSafetensors.INDEX_FILE, "model.safetensors", "rank0.safetensors");

    private Checkpoints() {
    }

    /**
     * For a file: an index ({@code *.json}) opens as sharded, anything else as one safetensors file.
     * For a folder: the first of {@link #LOOKUP_ORDER} that exists, else its only {@code *.safetensors} file.
     *
     * @throws TinyrtException listing what was looked for if nothing fits
     */
    public static TensorSource open(Path dirOrFile) {
        if (Files.isDirectory(dirOrFile)) {
            return openFile(findIn(dirOrFile));
        }
        if (!Files.exists(dirOrFile)) {
            throw new TinyrtException("no checkpoint at " + dirOrFile + ": no such file or folder");
        }
        return openFile(dirOrFile);
    }

    private static TensorSource openFile(Path file) {
        return file.getFileName().toString().endsWith(".json") ? ShardedSafetensors.open(file)
                : SafetensorsFile.open(file);
    }

    private static Path findIn(Path dir) {
        for (String name : LOOKUP_ORDER) {
            Path candidate = dir.resolve(name);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        List<Path> found;
        try (Stream<Path> files = Files.list(dir)) {
            found = files.filter(f -> f.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(f))
                    .sorted().toList();
        } catch (IOException e) {
            throw new TinyrtException("cannot list " + dir + ": " + e, e);
        }
        if (found.size() == 1) {
            return found.getFirst();
        }
        String lookedFor = String.join(", ", LOOKUP_ORDER) + " or a single *.safetensors file";
        if (found.isEmpty()) {
            throw new TinyrtException("no safetensors checkpoint in " + dir + ": looked for " + lookedFor);
        }
        throw new TinyrtException("ambiguous checkpoint in " + dir + ": looked for " + lookedFor + " but found "
                + found.size() + " *.safetensors files (" + String.join(", ",
                found.stream().map(f -> f.getFileName().toString()).toList()) + ") and no index; pass one file");
    }
}
