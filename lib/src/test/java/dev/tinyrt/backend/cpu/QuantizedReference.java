package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.quant.WeightDecoder;

import java.lang.foreign.ValueLayout;

/**
 * Scalar emulation of the quantized CPU matmuls, written from their specification without the Vector API or the
 * kernels' code: weight values decoded by {@link WeightDecoder} / {@link Numerics}, activation rows pre-scaled and
 * quantized element by element, and the accumulation scheme of {@link VectorMath} spelled out lane by lane with
 * {@link Math#fma}. The kernels must give exactly these bits.
 */
final class QuantizedReference {
    static final int LANES = VectorMath.LANES;

    private QuantizedReference() {
    }

    /** Activation rows as a format's kernels multiply them, and per-token output scales (null if none). */
    record Prepared(float[] values, float[] scales) {
    }

    /** The values the kernels multiply: dequantized for weight-only formats, the raw codes where scales are factored out. */
    static float[] weightValues(WeightData data) {
        return switch (data) {
            case WeightData.Int8W8A8 q -> {
                float[] v = new float[q.rows() * q.cols()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = q.weights().get(ValueLayout.JAVA_BYTE, i);
                }
                yield v;
            }
            case WeightData.Fp8PerTensor f -> {
                float[] v = new float[f.rows() * f.cols()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = Numerics.e4m3ToFloat(f.weights().get(ValueLayout.JAVA_BYTE, i));
                }
                yield v;
            }
            default -> WeightDecoder.values(data);
        };
    }

    static Prepared prepare(WeightData data, float[] x, int tokens) {
        int cols = data.cols();
        float[] pre = WeightDecoder.preScale(data);
        float[] y = new float[tokens * cols];
        for (int i = 0; i < y.length; i++) {
            y[i] = pre == null ? x[i] : x[i] * pre[i % cols];
        }
        float[] scales = new float[tokens];
        switch (data) {
            case WeightData.Int8W8A8 q -> {
                for (int t = 0; t < tokens; t++) {
                    float amax = 0;
                    for (int c = 0; c < cols; c++) {
                        amax = Math.max(amax, Math.abs(y[t * cols + c]));
                    }
                    scales[t] = amax / 127f;
                    for (int c = 0; c < cols; c++) {
                        float scaled = amax == 0 ? 0f : y[t * cols + c] * (127f / amax);
                        y[t * cols + c] = Math.clamp((long) Math.rint(scaled), -127, 127);  // ties to even
                    }
                }
                return new Prepared(y, scales);
            }
            case WeightData.Fp8PerTensor f -> {
                for (int i = 0; i < y.length; i++) {
                    y[i] = Numerics.e4m3ToFloat(Numerics.floatToE4m3(y[i] / f.activationScale()));
                }
                java.util.Arrays.fill(scales, f.activationScale());
                return new Prepared(y, scales);
            }
            default -> {
                return new Prepared(y, null);
            }
        }
    }

    /** VectorMath's scheme: lane k % LANES accumulates fma(w, x) for k below the last whole vector; lanes summed in order; then the tail. */
    static float schemeDot(float[] w, int wOff, float[] x, int xOff, int n) {
        float[] lanes = new float[LANES];
        int bound = n / LANES * LANES;
        for (int k = 0; k < bound; k++) {
            lanes[k % LANES] = Math.fma(w[wOff + k], x[xOff + k], lanes[k % LANES]);
        }
        float sum = 0;
        for (float lane : lanes) {
            sum += lane;
        }
        for (int k = bound; k < n; k++) {
            sum += w[wOff + k] * x[xOff + k];
        }
        return sum;
    }

    /**
     * W8A8's arithmetic: exact integer sums per lane class (k mod LANES), each converted to fp32 and summed in lane
     * order, then the tail in fp32.
     */
    static float integerDot(float[] w, int wOff, float[] x, int xOff, int n) {
        long[] lanes = new long[LANES];
        int bound = n / LANES * LANES;
        for (int k = 0; k < bound; k++) {
            lanes[k % LANES] += (long) w[wOff + k] * (long) x[xOff + k];
        }
        float sum = 0;
        for (long lane : lanes) {
            sum += (float) lane;
        }
        for (int k = bound; k < n; k++) {
            sum += w[wOff + k] * x[xOff + k];
        }
        return sum;
    }

    /** The whole matmul {@code out[t * rows + r]} for {@code x [tokens, cols]}. */
    static float[] matmul(WeightData data, float[] x, int tokens) {
        return matmul(data, weightValues(data), x, tokens);
    }

    /** The same with the weight's values ({@link #weightValues}) decoded beforehand. */
    static float[] matmul(WeightData data, float[] w, float[] x, int tokens) {
        int rows = data.rows();
        int cols = data.cols();
        Prepared p = prepare(data, x, tokens);
        // W8A8 rows narrow enough that fp32 lane sums stay exact integers: the integer formula must agree
        boolean integer = data instanceof WeightData.Int8W8A8
                && (long) (cols / LANES) * 128 * 127 <= (1 << 24);
        float[] out = new float[tokens * rows];
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                float raw = integer ? integerDot(w, r * cols, p.values(), t * cols, cols)
                        : schemeDot(w, r * cols, p.values(), t * cols, cols);
                out[t * rows + r] = switch (data) {
                    case WeightData.Int8W8A8 q -> raw * (p.scales()[t] * q.scales()[r]);
                    case WeightData.Fp8PerTensor f -> raw * (p.scales()[t] * f.weightScale());
                    default -> raw;
                };
            }
        }
        return out;
    }
}
