package dev.tinyrt.quality;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.model.StoragePrecision;

import java.nio.file.Path;

/**
 * A model to evaluate: its directory, the precision its weights are kept in, and the name it gets in results.
 * Quantized checkpoints need no precision of their own: they load with {@code auto} once the engine reads them.
 */
public record ModelSpec(String label, Path directory, StoragePrecision precision) {

    public ModelSpec {
        if (label == null || label.isBlank()) {
            throw new TinyrtException("a model label must not be empty");
        }
    }

    /** Labelled by folder name, plus the precision unless it is {@code auto}. */
    public static ModelSpec of(Path directory, StoragePrecision precision) {
        Path name = directory.toAbsolutePath().normalize().getFileName();
        String base = name == null ? directory.toString() : name.toString();
        return new ModelSpec(precision == StoragePrecision.AUTO ? base : base + " " + precision.label(), directory,
                precision);
    }

    /**
     * A table row written {@code LABEL=DIR}, {@code LABEL=DIR@PRECISION} or {@code LABEL=@PRECISION}; an empty
     * directory means {@code defaultDirectory} (the reference's).
     */
    public static ModelSpec parseRow(String text, Path defaultDirectory) {
        int eq = text.indexOf('=');
        if (eq <= 0) {
            throw new TinyrtException("row \"" + text + "\" must be LABEL=DIR, LABEL=DIR@PRECISION or LABEL=@PRECISION");
        }
        String label = text.substring(0, eq);
        String rest = text.substring(eq + 1);
        StoragePrecision precision = StoragePrecision.AUTO;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            precision = StoragePrecision.parse(rest.substring(at + 1));
            rest = rest.substring(0, at);
        }
        return new ModelSpec(label, rest.isEmpty() ? defaultDirectory : Path.of(rest), precision);
    }
}
