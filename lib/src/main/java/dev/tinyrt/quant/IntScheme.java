package dev.tinyrt.quant;

/**
 * A symmetric integer quantization scheme: {@code scale = amax / divisor}, {@code q = clamp(round(w / scale))}.
 * The divisor decides whether the positive extreme clips: amax/128 and amax/8 map +amax to +128 and +8, one
 * step beyond int8's 127 and int4's 7, so the largest positive weight lands on 127 (or 7) — an error of up to one
 * step there and at most half a step everywhere else. amax/127 and amax/7 never clip.
 *
 * @param bits    4 or 8
 * @param divisor amax is divided by it to give the scale
 */
public record IntScheme(int bits, float divisor, Rounding rounding) {
    /** TensorRT-LLM W8A16: amax/128, clamp [-128, 127] (cutlass_preprocessors.cpp, symmetric_quantize). */
    public static final IntScheme TRTLLM_INT8 = new IntScheme(8, 128f, Rounding.HALF_AWAY_FROM_ZERO);
    /** TensorRT-LLM W4A16: amax/8, clamp [-8, 7] (same function, quant_range_scale = 1 / 2^(bits-1)). */
    public static final IntScheme TRTLLM_INT4 = new IntScheme(4, 8f, Rounding.HALF_AWAY_FROM_ZERO);
    /**
     * ModelOpt INT4 group-wise (AWQ and round-to-nearest blocks): amax/7 per group, round().clamp(-8, 7)
     * (modelopt/torch/export/quant_utils.py: get_scaling_factor_from_weight maxbound 7, pack_int4_in_uint8).
     */
    public static final IntScheme MODELOPT_INT4 = new IntScheme(4, 7f, Rounding.HALF_EVEN);
    /**
     * ModelOpt INT8 SmoothQuant weights: amax/127 per output channel, round().clamp(-128, 127)
     * (quant_utils.py: get_scaling_factor_from_weight maxbound 127, to_quantized_weight for INT8_SQ).
     */
    public static final IntScheme MODELOPT_INT8 = new IntScheme(8, 127f, Rounding.HALF_EVEN);

    public IntScheme {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        }
    }

    public int min() {
        return -(1 << (bits - 1));
    }

    public int max() {
        return (1 << (bits - 1)) - 1;
    }

    /** Quantizes one value with {@code scale}. */
    public byte quantize(float w, float scale) {
        float q = rounding.round(w / scale);
        return (byte) Math.max(min(), Math.min(max(), q));
    }
}
