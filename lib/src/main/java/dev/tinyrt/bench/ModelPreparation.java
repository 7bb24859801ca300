package dev.tinyrt.bench;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.StoragePrecision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Turns a {@code --precision} into something the engine can open. Storage precisions (fp32, fp16, bf16) load
 * the HF checkpoint with weights kept in that precision. Quantized precisions convert the checkpoint with
 * configs/tinyllama_PRECISION.yaml into a TensorRT-LLM checkpoint, cached under
 * {@code $TINYRT_CACHE/engines/MODEL-PRECISION-CONFIGHASH} (default ~/.cache/tinyrt/engines) so later runs reuse it.
 */
public final class ModelPreparation {
    public static final List<String> STORAGE = List.of("fp32", "fp16", "bf16");
    public static final List<String> QUANTIZED = List.of("int8", "int4", "int4_awq", "w8a8_sq", "fp8");

    /** What to open and how; {@code precision} is the label results carry. */
    public record Prepared(Path dir, LoadedModel.Options options, String precision) {
    }

    private ModelPreparation() {
    }

    /** Fails with one clear message when {@code precision} is unknown or cannot run in this build. */
    public static void check(String precision) {
        String p = normalize(precision);
        if (QUANTIZED.contains(p) && converter().isEmpty()) {
            throw notAvailable(p, "it needs the TensorRT-LLM checkpoint converter (convert_checkpoint.java with "
                    + "configs/tinyllama_" + p + ".yaml) and an engine that loads its output");
        }
    }

    public static String normalize(String precision) {
        String p = canonical(precision);
        if (!STORAGE.contains(p) && !QUANTIZED.contains(p)) {
            throw new TinyrtException("unknown precision \"" + precision + "\"; choose one of "
                    + String.join(", ", STORAGE) + ", " + String.join(", ", QUANTIZED));
        }
        return p;
    }

    /** Whether {@code precision} (any case, '-' or '_') names a quantized precision, without rejecting others. */
    public static boolean isQuantized(String precision) {
        return QUANTIZED.contains(canonical(precision));
    }

    private static String canonical(String precision) {
        return precision.strip().toLowerCase(Locale.ROOT).replace('-', '_');
    }

    /**
     * @param engine an already built engine or converted checkpoint directory to open as is, or null
     */
    public static Prepared prepare(Path model, Path engine, String precision, String backend, int threads) {
        String p = normalize(precision);
        if (engine != null || STORAGE.contains(p)) {
            return prepare(model, engine, p, backend, threads, Optional.empty(), null, null);
        }
        check(p);
        return prepare(model, null, p, backend, threads, converter(), ProjectHome.require().resolve("configs"),
                cacheRoot().resolve("engines"));
    }

    static Prepared prepare(Path model, Path engine, String precision, String backend, int threads,
                            Optional<CheckpointConverter> converter, Path configs, Path engines) {
        String p = normalize(precision);
        if (engine != null) {
            return new Prepared(engine, new LoadedModel.Options(backend, StoragePrecision.AUTO, threads), p);
        }
        if (STORAGE.contains(p)) {
            return new Prepared(model, new LoadedModel.Options(backend, StoragePrecision.parse(p), threads), p);
        }
        Path config = configs.resolve("tinyllama_" + p + ".yaml");
        if (!Files.isRegularFile(config)) {
            throw new TinyrtException("--precision " + p + " needs the build config " + config);
        }
        // the build config's hash is part of the name: editing the config converts again
        Path dir = engines.resolve(model.toAbsolutePath().normalize().getFileName() + "-" + p + "-" + shortHash(config));
        if (!Files.exists(dir.resolve(".complete"))) {
            convert(converter.orElseThrow(() -> notAvailable(p, "no checkpoint converter is registered")), model,
                    config, dir);
        }
        return new Prepared(dir, new LoadedModel.Options(backend, StoragePrecision.AUTO, threads), p);
    }

    /**
     * Opens a prepared model. A quantized checkpoint the engine cannot load or run yet (a user error from the
     * loader, or a backend's UnsupportedOperationException for weights it has no kernel for) is reported as not
     * available yet, in one line.
     */
    public static LoadedModel open(Prepared prepared) {
        try {
            return LoadedModel.open(prepared.dir(), prepared.options());
        } catch (TinyrtException | UnsupportedOperationException e) {
            if (QUANTIZED.contains(prepared.precision())) {
                throw notAvailable(prepared.precision(), "the " + prepared.options().backend() + " engine cannot run "
                        + "the converted checkpoint " + prepared.dir() + " (" + e.getMessage() + ")");
            }
            throw e;
        }
    }

    private static String shortHash(Path file) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
            return java.util.HexFormat.of().formatHex(digest, 0, 4);
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static void convert(CheckpointConverter converter, Path model, Path config, Path dir) {
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            System.err.println("converting " + model + " with " + config.getFileName() + " into " + dir);
            converter.convert(model, config, tmp);
            Files.writeString(tmp.resolve(".complete"), "ok\n");
            deleteTree(dir);
            Files.move(tmp, dir);
        } catch (IOException e) {
            throw new TinyrtException("cannot write the converted checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static TinyrtException notAvailable(String precision, String why) {
        return new TinyrtException("--precision " + precision + " is not available yet: " + why
                + "; this build runs " + String.join(", ", STORAGE) + " (e.g. --precision fp16)");
    }

    static Optional<CheckpointConverter> converter() {
        return ServiceLoader.load(CheckpointConverter.class).findFirst();
    }

    /** The system property {@code tinyrt.cache}, else {@code TINYRT_CACHE}, else ~/.cache/tinyrt. */
    static Path cacheRoot() {
        String base = System.getProperty("tinyrt.cache", System.getenv("TINYRT_CACHE"));
        return base != null && !base.isBlank() ? Path.of(base)
                : Path.of(System.getProperty("user.home"), ".cache", "tinyrt");
    }
}
