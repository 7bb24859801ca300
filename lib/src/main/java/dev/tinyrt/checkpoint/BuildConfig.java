package dev.tinyrt.checkpoint;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.QuantAlgo;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A validated build configuration (one YAML file in configs/, schema in docs/configs.md): the dtype of the
 * converted checkpoint, its quantization, the calibration that quantization needs, and the engine's build limits.
 * Read it with {@link BuildConfigLoader#load}.
 *
 * @param source where it was read from (named in error messages)
 */
public record BuildConfig(Path source, String description, String dtype, Quantization quantization,
                          Calibration calibration, BuildLimits build) {

    /**
     * @param groupSize        INT4 group size, or 0 for per-channel scales (W4A16 only)
     * @param smoothquantAlpha migration strength α of SmoothQuant
     * @param awqGrid          number of exponents AWQ tries in [0, 1)
     * @param awqClip          whether AWQ also searches a clipped range per group (llm-awq's auto_clip)
     * @param floatWeights     W8A16 / per-channel W4A16: store the weights as floats and let trtllm-build quantize
     *                         them (its loader quantizes float weights, but takes int8 ones as already preprocessed
     *                         for its GPU kernels)
     */
    public record Quantization(QuantAlgo algorithm, int groupSize, KvCacheQuant kvCache, float smoothquantAlpha,
                               int awqGrid, boolean awqClip, boolean floatWeights) {
        /** Whether running the model over calibration text is needed (activation statistics or KV-cache scales). */
        public boolean needsCalibration() {
            return algorithm.needsCalibration() || kvCache != KvCacheQuant.NONE;
        }
    }

    /**
     * @param data       calibration text as written in the file (relative paths resolve against the project root),
     *                   or {@code null}
     * @param samples    number of calibration sequences
     * @param seqLen     tokens per calibration sequence
     * @param awqTokens  calibration rows kept per linear layer for AWQ's output-error search
     */
    public record Calibration(String data, int samples, int seqLen, int awqTokens) {
    }

    /** Engine limits, named as trtllm-build's options. */
    public record BuildLimits(int maxBatchSize, int maxInputLen, int maxSeqLen, int maxNumTokens,
                              int tokensPerBlock) {
        /** Checks the limits against a model; the message names the config file and key. */
        public void check(LlamaConfig model, Path source) {
            if (maxSeqLen > model.maxPositionEmbeddings()) {
                throw new TinyrtException(source + ": build.max_seq_len: " + maxSeqLen + " exceeds the model's "
                        + "max_position_embeddings " + model.maxPositionEmbeddings() + "; allowed: 1.."
                        + model.maxPositionEmbeddings());
            }
        }
    }

    /**
     * The calibration text to use: {@code override} (a --calib-data flag) if given, else {@code calibration.data}.
     *
     * @throws TinyrtException naming the file and key when quantization needs calibration and none is given, or
     *                         the file does not exist
     */
    public Path requireCalibrationData(Path override) {
        if (override != null) {
            if (!Files.isRegularFile(override)) {
                throw new TinyrtException("calibration data not found: " + override);
            }
            return override;
        }
        String what = quantization.algorithm().needsCalibration()
                ? "quantization.algorithm " + quantization.algorithm().configName()
                : "quantization.kv_cache " + quantization.kvCache().configName();
        if (calibration.data() == null) {
            throw new TinyrtException(source + ": " + what + " needs calibration data, but calibration.data is not "
                    + "set; allowed: a text file such as data/calibration/calib.txt (or pass --calib-data FILE)");
        }
        Path p = Path.of(calibration.data());
        if (!p.isAbsolute()) {
            p = ProjectHome.find().map(h -> h.resolve(calibration.data())).orElse(p);
        }
        if (!Files.isRegularFile(p)) {
            throw new TinyrtException(source + ": calibration.data: \"" + calibration.data() + "\" not found (looked"
                    + " at " + p + "); allowed: an existing text file, relative paths resolve against the project root");
        }
        return p;
    }

    /**
     * Checks that the INT4 group size divides the input width of every quantized linear layer of {@code model}.
     */
    public void checkAgainst(LlamaConfig model) {
        int g = quantization.groupSize();
        if (g <= 0) {
            return;
        }
        int[] widths = {model.hiddenSize(), model.qDim(), model.intermediateSize()};
        String[] names = {"hidden_size", "attention output (heads x head_dim)", "intermediate_size"};
        for (int i = 0; i < widths.length; i++) {
            if (widths[i] % g != 0) {
                throw new TinyrtException(source + ": quantization.group_size: " + g + " does not divide the layer "
                        + "width " + widths[i] + " (" + names[i] + "); allowed: a common divisor of " + model.hiddenSize()
                        + ", " + model.qDim() + " and " + model.intermediateSize() + ", such as "
                        + largestPowerOfTwoDivisor(widths));
            }
        }
    }

    private static int largestPowerOfTwoDivisor(int[] widths) {
        int g = 1 << 30;
        for (int w : widths) {
            g = Math.min(g, Integer.lowestOneBit(w));
        }
        return Math.min(g, 128);
    }
}
