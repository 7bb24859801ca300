package dev.tinyrt.tokenizer;

import dev.tinyrt.TinyrtException;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the tokenizer folder bundled in the tinyrt checkout (data/tokenizer). */
final class TokenizerLocation {
    static final String HOME_PROPERTY = "tinyrt.home";
    static final String HOME_ENV = "TINYRT_HOME";
    static final Path RELATIVE = Path.of("data", "tokenizer");

    private TokenizerLocation() {
    }

    static Path find() {
        return find(System.getProperty(HOME_PROPERTY), System.getenv(HOME_ENV),
                Path.of(System.getProperty("user.dir")));
    }

    static Path find(String homeProperty, String homeEnv, Path workingDir) {
        String home = homeProperty != null && !homeProperty.isBlank() ? homeProperty
                : homeEnv != null && !homeEnv.isBlank() ? homeEnv : null;
        if (home != null) {
            Path dir = Path.of(home).resolve(RELATIVE).toAbsolutePath().normalize();
            if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
                throw new TinyrtException("No tokenizer.json in " + dir + " (tinyrt home " + home + " is set by "
                        + (home.equals(homeProperty) ? "-D" + HOME_PROPERTY : HOME_ENV) + ")");
            }
            return dir;
        }
        for (Path dir = workingDir.toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(RELATIVE);
            if (Files.isRegularFile(candidate.resolve("tokenizer.json"))) {
                return candidate;
            }
        }
        throw new TinyrtException("Cannot find " + RELATIVE.resolve("tokenizer.json") + " in " + workingDir
                + " or any folder above it; set " + HOME_ENV + " (or -D" + HOME_PROPERTY
                + ") to the tinyrt checkout, or run environment/prepare_tokenizer.py");
    }
}
