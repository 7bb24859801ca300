package dev.tinyrt.quant;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The weight/activation quantization algorithms tinyrt implements, named as TensorRT-LLM's {@code QuantAlgo}
 * (tensorrt_llm/quantization/mode.py) names them in a checkpoint's {@code quantization.quant_algo}.
 */
public enum QuantAlgo {
    /** No quantization: weights stay in the checkpoint dtype ({@code quant_algo: null}). */
    NONE(null, false),
    /** INT8 weights, one scale per output channel (amax/128), fp16 activations. */
    W8A16("W8A16", false),
    /**
     * INT4 weights with fp16 activations, round to nearest. Per channel (amax/8, TensorRT-LLM's W4A16) or, with a
     * group size, per group in ModelOpt's group-wise layout (written as W4A16_AWQ with unit pre-quant scales).
     */
    W4A16("W4A16", false),
    /** INT4 weights per group of 128 with activation-aware scales searched on calibration data (AWQ). */
    W4A16_AWQ("W4A16_AWQ", true),
    /** SmoothQuant: INT8 weights per channel and INT8 activations after migrating outliers into the weights. */
    W8A8_SQ_PER_CHANNEL("W8A8_SQ_PER_CHANNEL", true),
    /** FP8 (e4m3) weights and activations with per-tensor amax/448 scales (Hopper). */
    FP8("FP8", true);

    private final String trtllmName;
    private final boolean needsCalibration;

    QuantAlgo(String trtllmName, boolean needsCalibration) {
        this.trtllmName = trtllmName;
        this.needsCalibration = needsCalibration;
    }

    /** The {@code quant_algo} string in a TensorRT-LLM config, or {@code null} for {@link #NONE}. */
    public String trtllmName() {
        return trtllmName;
    }

    /** Whether activations must be observed on calibration text to quantize with this algorithm. */
    public boolean needsCalibration() {
        return needsCalibration;
    }

    /** Spelling in tinyrt's YAML configs: the TensorRT-LLM name, or {@code none}. */
    public String configName() {
        return this == NONE ? "none" : trtllmName;
    }

    /** Parses a YAML spelling (case-insensitive); {@code null} if unknown. */
    public static QuantAlgo fromConfigName(String text) {
        for (QuantAlgo a : values()) {
            if (a.configName().equalsIgnoreCase(text)) {
                return a;
            }
        }
        return null;
    }

    /** Allowed YAML spellings, for error messages. */
    public static String allowedConfigNames() {
        return Arrays.stream(values()).map(QuantAlgo::configName).collect(Collectors.joining(", "));
    }
}
