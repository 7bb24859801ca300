package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A model directory seen without its tokenizer: a temporary directory of symbolic links to everything else. The
 * memory runs work on token ids, and a loaded tokenizer (a 32k-entry vocabulary on the heap and the native
 * tokenizers library) would be counted as model memory. Mappings through the links show the real files' paths,
 * so {@link #realDirectory()} is the directory whose mappings count.
 */
final class IdsOnlyView implements AutoCloseable {
    private static final Set<String> TOKENIZER_FILES = Set.of("tokenizer.json", "tokenizer.model",
            "tokenizer_config.json", "special_tokens_map.json");
    private final Path view;
    private final Path real;

    IdsOnlyView(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new TinyrtException("model directory not found: " + directory);
        }
        try {
            real = directory.toRealPath();
            view = Files.createTempDirectory("tinyrt-ids-only-");
            try (Stream<Path> files = Files.list(real)) {
                for (Path f : files.toList()) {
                    if (!TOKENIZER_FILES.contains(f.getFileName().toString())) {
                        Files.createSymbolicLink(view.resolve(f.getFileName()), f);
                    }
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot prepare a view of " + directory + ": " + e.getMessage(), e);
        }
    }

    Path path() {
        return view;
    }

    Path realDirectory() {
        return real;
    }

    @Override
    public void close() {
        try (Stream<Path> files = Files.walk(view)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
