package dev.tinyrt.quant;

import dev.tinyrt.io.Numerics;

/**
 * FP8 e4m3 weights {@code [rows, cols]} with one per-tensor scale: w ≈ e4m3(values[i]) * scale, where
 * scale = amax / 448 (ModelOpt's FP8 export: quant_utils.py get_scaling_factor, amax / maxbound 448, and
 * to_quantized_weight: (weight / scale).to(float8_e4m3fn)).
 */
public record Fp8Matrix(int rows, int cols, byte[] values, float scale) {

    public static Fp8Matrix quantize(float[] w, int rows, int cols) {
        float amax = 0;
        for (float v : w) {
            amax = Math.max(amax, Math.abs(v));
        }
        float scale = amax > 0 ? amax / Numerics.E4M3_MAX : 1f;
        byte[] q = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            q[i] = Numerics.floatToE4m3(w[i] / scale);
        }
        return new Fp8Matrix(rows, cols, q, scale);
    }

    /** The static per-tensor activation scale for inputs that reach {@code amax}. */
    public static float activationScale(float amax) {
        return amax > 0 ? amax / Numerics.E4M3_MAX : 1f;
    }

    public float[] dequantize() {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Numerics.e4m3ToFloat(values[i]) * scale;
        }
        return out;
    }
}
