package dev.tinyrt.quant;

import dev.tinyrt.io.DType;

import java.util.stream.IntStream;

/**
 * Activation-aware weight quantization (AWQ, Lin et al. 2023) of one linear layer to INT4 groups. Channels that
 * see large activations matter more, so before quantizing, each input channel j of W is scaled up by
 * s_j = meanAbs(x_j)^α (normalized by √(max·min), as llm-awq's auto_scale does) and the activation is scaled down
 * by the same factor at run time (TensorRT-LLM's prequant_scaling_factor = 1/s). The exponent α is searched on a
 * grid of {@code grid} points in [0, 1), keeping the one whose quantized layer has the smallest output error on the
 * calibration rows. α = 0 is plain round-to-nearest, so the result is never worse than it on those rows.
 *
 * <p>Then, as llm-awq's auto_clip (and ModelOpt's awq_clip) do, each group's range may shrink: ratios 1, 0.95, ...,
 * 0.55 of its max |w| are tried and the one with the smallest error of that group's share of the output is kept.
 * Clipped weights saturate at the extreme INT4 level; the rest round with a finer step.
 */
public final class AwqSearch {
    /**
     * @param weights  the INT4 groups of the scaled weight W·diag(1/preScale)
     * @param preScale prequant_scaling_factor per input channel, as stored (rounded to the model dtype)
     * @param alpha    the chosen exponent
     * @param loss     mean squared output error of the chosen quantization on the calibration rows
     * @param rtnLoss  the same for plain round-to-nearest (α = 0)
     */
    public record Result(QuantizedInts weights, float[] preScale, float alpha, double loss, double rtnLoss) {
    }

    private AwqSearch() {
    }

    /** Clip ratios tried per group: 1 - i/20 for i in 0..9 (auto_clip's n_grid 20, max_shrink 0.5). */
    static final int CLIP_STEPS = 10;

    /**
     * @param w       the layer's weight {@code [rows, cols]} in the model dtype's values
     * @param meanAbs mean |x| per input channel over all calibration tokens
     * @param gram    second moments of the sampled calibration inputs
     * @param clip    also search a clipped range per group
     */
    public static Result search(float[] w, int rows, int cols, int groupSize, float[] meanAbs, Gram gram, int grid,
                                boolean clip, DType dtype) {
        if (grid < 1) {
            throw new IllegalArgumentException("grid must be at least 1, got " + grid);
        }
        Result best = null;
        double rtnLoss = Double.NaN;
        for (int i = 0; i < grid; i++) {
            float alpha = (float) i / grid;
            float[] preScale = preScale(meanAbs, alpha, dtype);
            QuantizedInts q = IntQuantizer.quantize(scaleColumns(w, cols, preScale, true), rows, cols, groupSize,
                    IntScheme.MODELOPT_INT4, dtype);
            double loss = gram.error(weightError(w, q, preScale), rows);
            if (i == 0) {
                rtnLoss = loss;
            }
            if (best == null || loss < best.loss()) {
                best = new Result(q, preScale, alpha, loss, rtnLoss);
            }
        }
        if (!clip) {
            return new Result(best.weights(), best.preScale(), best.alpha(), best.loss(), rtnLoss);
        }
        float[] scaled = scaleColumns(w, cols, best.preScale(), true);
        float[] amax = clippedAmax(scaled, rows, cols, groupSize, best.preScale(), gram, dtype);
        QuantizedInts q = IntQuantizer.quantize(scaled, rows, cols, groupSize, IntScheme.MODELOPT_INT4, dtype, amax);
        double loss = gram.error(weightError(w, q, best.preScale()), rows);
        return loss < best.loss() ? new Result(q, best.preScale(), best.alpha(), loss, rtnLoss)
                : new Result(best.weights(), best.preScale(), best.alpha(), best.loss(), rtnLoss);
    }

    /**
     * Per row and group, the clipped max |w| whose quantization errs least on that group's output share. Group by
     * group, the weight errors of all rows and clip steps form one {@code [rows · CLIP_STEPS, groupSize]} matrix
     * whose block errors {@link Gram#blockErrors} computes in one batched product.
     */
    static float[] clippedAmax(float[] scaled, int rows, int cols, int groupSize, float[] preScale, Gram gram,
                               DType dtype) {
        int groups = cols / groupSize;
        float[] amax = new float[rows * groups];
        float[] full = new float[rows];
        float[] d = new float[rows * CLIP_STEPS * groupSize];
        IntScheme scheme = IntScheme.MODELOPT_INT4;
        for (int g = 0; g < groups; g++) {
            int col0 = g * groupSize;
            IntStream.range(0, rows).parallel().forEach(r -> {
                int from = r * cols + col0;
                float max = 0;
                for (int i = 0; i < groupSize; i++) {
                    max = Math.max(max, Math.abs(scaled[from + i]));
                }
                full[r] = max;
                for (int step = 0; step < CLIP_STEPS; step++) {
                    float s = ScaleStorage.scaleFor(clipCandidate(max, step), scheme.divisor(), dtype);
                    int at = (r * CLIP_STEPS + step) * groupSize;
                    for (int i = 0; i < groupSize; i++) {
                        float v = scaled[from + i];
                        d[at + i] = preScale[col0 + i] * (v - scheme.quantize(v, s) * s);
                    }
                }
            });
            double[] err = gram.blockErrors(d, rows * CLIP_STEPS, g, groupSize);
            for (int r = 0; r < rows; r++) {
                float bestAmax = full[r];
                double bestErr = Double.MAX_VALUE;
                for (int step = 0; step < CLIP_STEPS && full[r] > 0; step++) {
                    if (err[r * CLIP_STEPS + step] < bestErr) {
                        bestErr = err[r * CLIP_STEPS + step];
                        bestAmax = clipCandidate(full[r], step);
                    }
                }
                amax[r * groups + g] = bestAmax;
            }
        }
        return amax;
    }

    private static float clipCandidate(float full, int step) {
        return full * (1 - step / 20f);
    }

    /** W - W'·diag(preScale) with W' the dequantized {@code q}: the weight error of a candidate. */
    static float[] weightError(float[] w, QuantizedInts q, float[] preScale) {
        int cols = q.cols();
        byte[] v = q.values();
        float[] d = new float[w.length];
        IntStream.range(0, q.rows()).parallel().forEach(r -> {
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                d[i] = w[i] - v[i] * q.scale(r, c) * preScale[c];
            }
        });
        return d;
    }

    /** 1/s for s = x^α normalized by √(max·min), rounded to the storage dtype. */
    static float[] preScale(float[] meanAbs, float alpha, DType dtype) {
        int n = meanAbs.length;
        double[] s = new double[n];
        double max = 0;
        double min = Double.MAX_VALUE;
        for (int j = 0; j < n; j++) {
            s[j] = Math.max(Math.pow(meanAbs[j], alpha), 1e-4);
            max = Math.max(max, s[j]);
            min = Math.min(min, s[j]);
        }
        double norm = Math.sqrt(max * min);
        float[] p = new float[n];
        for (int j = 0; j < n; j++) {
            p[j] = ScaleStorage.roundTo(dtype, (float) (norm / s[j]));
        }
        return p;
    }

    /** w[:, j] / p[j] (divide) or w[:, j] * p[j]. */
    static float[] scaleColumns(float[] w, int cols, float[] p, boolean divide) {
        float[] out = new float[w.length];
        IntStream.range(0, w.length / cols).parallel().forEach(r -> {
            for (int i = r * cols; i < (r + 1) * cols; i++) {
                float pj = p[i - r * cols];
                out[i] = divide ? w[i] / pj : w[i] * pj;
            }
        });
        return out;
    }
}
