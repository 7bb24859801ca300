package dev.tinyrt.backend.cpu;

/**
 * Token rows {@code [tokens, cols]} as a weight's kernels read them, prepared by its {@link InputFormat} once per
 * matmul.
 *
 * @param values fp32 rows every kernel can read: x itself, x times a pre-scale, or quantized values as floats
 * @param int8   for int8 activations the same values as bytes (read by the integer decode kernel), else null
 * @param scales per token, for quantized activations: a raw dot is multiplied by {@code scales[t]} and the weight
 *               row's scale (see {@link CpuWeight#scaleOutputs}); null when the values are not quantized
 */
record Activations(float[] values, byte[] int8, float[] scales) {
    static Activations plain(float[] x) {
        return new Activations(x, null, null);
    }
}
