package dev.tinyrt;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the tinyrt checkout that holds the bundled data (tokenizer, trained model): {@code TINYRT_HOME} or the
 * system property {@code tinyrt.home}, else the nearest parent of the working directory that has {@code data/}
 * next to {@code jbang-scripts/}.
 */
public final class ProjectHome {
    /** Directory name of the bundled trained model under data/models/. */
    public static final String DEFAULT_MODEL = "tinyrt-12m";

    private ProjectHome() {
    }

    public static Optional<Path> find() {
        String configured = System.getProperty("tinyrt.home", System.getenv("TINYRT_HOME"));
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured).toAbsolutePath().normalize());
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("data")) && Files.isDirectory(p.resolve("jbang-scripts"))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    public static Path require() {
        return find().orElseThrow(() -> new TinyrtException(
                "cannot find the tinyrt checkout (data/ and jbang-scripts/); run from inside it or set TINYRT_HOME"));
    }

    /** The bundled trained model, used when no --model is given. */
    public static Path defaultModel() {
        Path model = require().resolve("data/models").resolve(DEFAULT_MODEL);
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new TinyrtException("no --model given and the bundled model " + model + " is missing");
        }
        return model;
    }
}
