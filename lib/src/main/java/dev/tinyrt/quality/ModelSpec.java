package dev.tinyrt.quality;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.model.StoragePrecision;

import java.nio.file.Path;

/**
 * A model to evaluate: its directory, the precision its weights are kept in, the KV-cache element type it runs
 * with, and the name it gets in results. Quantized checkpoints need no precision of their own: they load with
 * {@code auto} once the engine reads them.
 */
public record ModelSpec(String label, Path directory, StoragePrecision precision, KvCacheDtype kvCache) {

    public ModelSpec(String label, Path directory, StoragePrecision precision) {
        this(label, directory, precision, KvCacheDtype.AUTO);
    }

    public ModelSpec {
        if (kvCache == null) {
            throw new TinyrtException("a model's KV-cache dtype must be given (auto for the engine's own)");
        }
        if (label == null || label.isBlank()) {
            throw new TinyrtException("a model label must not be empty");
        }
    }

    /** Labelled by folder name, plus the precision and "KV-int8" etc. unless they are {@code auto}. */
    public static ModelSpec of(Path directory, StoragePrecision precision, KvCacheDtype kvCache) {
        ModelSpec s = of(directory, precision);
        return new ModelSpec(kvCache == KvCacheDtype.AUTO ? s.label() : s.label() + " KV-" + kvCache.label(),
                directory, precision, kvCache);
    }

    /** Labelled by folder name, plus the precision unless it is {@code auto}. */
    /** The same model under another name (e.g. the backend it runs on). */
    public ModelSpec withLabel(String newLabel) {
        return new ModelSpec(newLabel, directory, precision, kvCache);
    }

    public static ModelSpec of(Path directory, StoragePrecision precision) {
        Path name = directory.toAbsolutePath().normalize().getFileName();
        String base = name == null ? directory.toString() : name.toString();
        return new ModelSpec(precision == StoragePrecision.AUTO ? base : base + " " + precision.label(), directory,
                precision);
    }

    /**
     * A table row written {@code LABEL=DIR}, {@code LABEL=DIR@PRECISION} or {@code LABEL=@PRECISION}, optionally
     * followed by {@code ,kv=DTYPE} (e.g. {@code KV-int8=@fp32,kv=int8}); an empty directory means
     * {@code defaultDirectory} (the reference's).
     */
    public static ModelSpec parseRow(String text, Path defaultDirectory) {
        KvCacheDtype kv = KvCacheDtype.AUTO;
        int comma = text.lastIndexOf(",kv=");
        if (comma >= 0) {
            kv = KvCacheDtype.parse(text.substring(comma + 4));
            text = text.substring(0, comma);
        }
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
        return new ModelSpec(label, rest.isEmpty() ? defaultDirectory : Path.of(rest), precision, kv);
    }
}
