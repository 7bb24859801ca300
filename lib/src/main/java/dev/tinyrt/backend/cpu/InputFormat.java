package dev.tinyrt.backend.cpu;

import dev.tinyrt.io.Numerics;

/**
 * How a weight format wants the activation rows it multiplies, prepared once per matmul rather than once per
 * weight row: as they are, times a pre-scale (AWQ's and SmoothQuant's {@code prequant_scaling_factor}), and for
 * formats with quantized activations quantized per token (W8A8: int8, scale = amax / 127 of the pre-scaled row,
 * {@code q = rint(y * (127 / amax))}, as TensorRT-LLM's per-token quantization) or with a static scale (FP8: e4m3 of
 * {@code y / scale}, saturating, as {@link Numerics#floatToE4m3}).
 */
final class InputFormat {
    enum Quantization { NONE, INT8_PER_TOKEN, E4M3 }

    static final InputFormat PLAIN = new InputFormat(null, Quantization.NONE, 1f);

    private final float[] preScale;
    private final Quantization quantization;
    private final float staticScale;

    private InputFormat(float[] preScale, Quantization quantization, float staticScale) {
        this.preScale = preScale;
        this.quantization = quantization;
        this.staticScale = staticScale;
    }

    /** x times {@code preScale} (null or all ones: x as it is, which gives the same bits). */
    static InputFormat preScaled(float[] preScale) {
        float[] p = meaningful(preScale);
        return p == null ? PLAIN : new InputFormat(p, Quantization.NONE, 1f);
    }

    /** Pre-scaled (when {@code preScale} is not null), then quantized to int8 with one scale per token. */
    static InputFormat int8PerToken(float[] preScale) {
        return new InputFormat(meaningful(preScale), Quantization.INT8_PER_TOKEN, 1f);
    }

    /** Quantized to e4m3 with the static {@code scale} (calibrated amax / 448). */
    static InputFormat e4m3(float scale) {
        return new InputFormat(null, Quantization.E4M3, scale);
    }

    /** A pre-scale of ones changes no bit: it is dropped, saving a pass over x. */
    private static float[] meaningful(float[] preScale) {
        if (preScale == null) {
            return null;
        }
        for (float v : preScale) {
            if (v != 1f) {
                return preScale.clone();
            }
        }
        return null;
    }

    boolean isPlain() {
        return this == PLAIN;
    }

    Quantization quantization() {
        return quantization;
    }

    /** The rows the kernels multiply in place of {@code x [tokens, cols]}. */
    Activations prepare(float[] x, int tokens, int cols) {
        return prepare(x, tokens, cols, false);
    }

    /**
     * As {@link #prepare(float[], int, int)}; with {@code f16QuantizerInputs} a quantizing format first rounds x to
     * fp16, as the CUDA engine holds it ({@link CpuBackend#roundQuantizerInputsToF16}).
     */
    Activations prepare(float[] x, int tokens, int cols, boolean f16QuantizerInputs) {
        if (isPlain()) {
            return Activations.plain(x);
        }
        boolean f16 = f16QuantizerInputs && quantization != Quantization.NONE;
        int n = tokens * cols;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            float v = f16 ? Float.float16ToFloat(Float.floatToFloat16(x[i])) : x[i];
            values[i] = preScale == null ? v : v * preScale[i % cols];
        }
        return switch (quantization) {
            case NONE -> Activations.plain(values);
            case INT8_PER_TOKEN -> int8PerToken(values, tokens, cols);
            case E4M3 -> e4m3(values, tokens);
        };
    }

    private static Activations int8PerToken(float[] values, int tokens, int cols) {
        byte[] int8 = new byte[values.length];
        float[] scales = new float[tokens];
        for (int t = 0; t < tokens; t++) {
            int off = t * cols;
            float amax = 0;
            for (int i = 0; i < cols; i++) {
                amax = Math.max(amax, Math.abs(values[off + i]));
            }
            float inverse = amax > 0 ? 127f / amax : 0f;
            scales[t] = amax / 127f;
            for (int i = off; i < off + cols; i++) {
                int q = (int) Math.max(-127, Math.min(127, Math.rint(values[i] * inverse)));
                int8[i] = (byte) q;
                values[i] = q;
            }
        }
        return new Activations(values, int8, scales);
    }

    private Activations e4m3(float[] values, int tokens) {
        for (int i = 0; i < values.length; i++) {
            values[i] = Numerics.e4m3ToFloat(Numerics.floatToE4m3(values[i] / staticScale));
        }
        float[] scales = new float[tokens];
        java.util.Arrays.fill(scales, staticScale);
        return new Activations(values, null, scales);
    }
}
