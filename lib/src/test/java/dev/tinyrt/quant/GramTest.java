package dev.tinyrt.quant;

import dev.tinyrt.io.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The vectorized Gram paths (direct from the rows when n &lt; cols, Cholesky factor otherwise, block factors for the
 * clip search) against straightforward double-precision sums over the sampled rows. Shapes are chosen not to be
 * multiples of the vector width, the panel width or the 4-row micro-tile, and to span several k chunks and panel
 * groups.
 */
class GramTest {
    private static final double TOL = 1e-5;

    /** Activations with outlier channels, a dead channel and an exact copy of another (semi-definite G). */
    static float[][] activations(int n, int cols, long seed) {
        float[][] x = QuantizersTest.outlierActivations(n, cols, seed);
        for (float[] row : x) {
            row[3 % cols] = 0;
            row[cols - 1] = row[1];
        }
        return x;
    }

    /** Σ_t (d · x_t[from, from + d.length))² / n in double. */
    static double reference(double[] d, float[][] x, int from) {
        double sum = 0;
        for (float[] xt : x) {
            double y = 0;
            for (int i = 0; i < d.length; i++) {
                y += d[i] * xt[from + i];
            }
            sum += y * y;
        }
        return sum / x.length;
    }

    static double referenceOutputError(float[] exact, float[] approx, int rows, int cols, float[][] x) {
        double total = 0;
        for (int r = 0; r < rows; r++) {
            double[] d = new double[cols];
            for (int c = 0; c < cols; c++) {
                d[c] = (double) exact[r * cols + c] - approx[r * cols + c];
            }
            total += reference(d, x, 0);
        }
        return total / rows;
    }

    @Test
    void outputErrorMatchesTheDirectSumOnBothPaths() {
        // {n, cols, rows}: n < cols uses the rows directly (the last spans two k chunks and more than one panel
        // group), n >= cols the Cholesky factor
        int[][] shapes = {{23, 70, 13}, {200, 300, 9}, {90, 45, 7}, {331, 270, 6}};
        for (int[] s : shapes) {
            int n = s[0];
            int cols = s[1];
            int rows = s[2];
            float[][] x = activations(n, cols, 40 + n);
            float[] w = QuantizersTest.gaussian(rows * cols, n, 0.05f);
            float[] a = w.clone();
            float[] noise = QuantizersTest.gaussian(rows * cols, n + 1, 0.003f);
            for (int i = 0; i < a.length; i++) {
                a[i] += noise[i];
            }
            double expected = referenceOutputError(w, a, rows, cols, x);
            double got = Gram.of(x, cols).outputError(w, a, rows);
            assertEquals(expected, got, expected * TOL, "n " + n + ", cols " + cols + ", rows " + rows);
        }
    }

    @Test
    void secondMomentsMatchDoubleSums() {
        int n = 37;
        float[][] x = activations(n, 61, 7);
        int from = 5;
        int width = 53;
        double[] g = Gram.secondMoments(x, from, width);
        for (int i = 0; i < width; i++) {
            for (int j = 0; j < width; j++) {
                double e = 0;
                double scale = 0;
                for (float[] xt : x) {
                    e += (double) xt[from + i] * xt[from + j];
                    scale += Math.abs((double) xt[from + i] * xt[from + j]);
                }
                assertEquals(e, g[i * width + j], scale * TOL, "G[" + i + "][" + j + "]");
            }
        }
    }

    @Test
    void blockErrorsMatchTheDirectSumPerRow() {
        int cols = 72;
        int groupSize = 24;
        int m = 11;
        for (int n : new int[]{17, 150}) {  // fewer and more rows than the group is wide
            float[][] x = activations(n, cols, 9 + n);
            Gram gram = Gram.of(x, cols);
            float[] d = QuantizersTest.gaussian(m * groupSize, 3 + n, 0.01f);
            for (int g = 0; g < cols / groupSize; g++) {
                double[] got = gram.blockErrors(d, m, g, groupSize);
                for (int r = 0; r < m; r++) {
                    double[] dr = new double[groupSize];
                    for (int i = 0; i < groupSize; i++) {
                        dr[i] = d[r * groupSize + i];
                    }
                    double expected = reference(dr, x, g * groupSize);
                    assertEquals(expected, got[r], expected * TOL, "n " + n + ", group " + g + ", row " + r);
                }
            }
        }
    }

    @Test
    void clipSearchPicksTheReferenceArgmin() {
        int rows = 10;
        int cols = 96;
        int groupSize = 48;
        float[][] x = activations(300, cols, 12);
        float[] w = QuantizersTest.gaussian(rows * cols, 13, 0.05f);
        for (int r = 0; r < rows; r++) {
            w[r * cols + (r * 11) % cols] = 0.5f;  // outliers make clipping worthwhile in some groups
        }
        ActivationStats stats = new ActivationStats(cols, 1, 0);
        stats.add(x);
        float[] preScale = AwqSearch.preScale(stats.meanAbs(), 0.5f, DType.F16);
        Gram gram = Gram.of(x, cols);
        float[] amax = AwqSearch.clippedAmax(w, rows, cols, groupSize, preScale, gram, DType.F16);
        IntScheme scheme = IntScheme.MODELOPT_INT4;
        int groups = cols / groupSize;
        float[] expected = new float[rows * groups];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int from = r * cols + g * groupSize;
                float full = 0;
                for (int i = 0; i < groupSize; i++) {
                    full = Math.max(full, Math.abs(w[from + i]));
                }
                double bestErr = Double.MAX_VALUE;
                for (int step = 0; step < AwqSearch.CLIP_STEPS; step++) {
                    float candidate = full * (1 - step / 20f);
                    float s = ScaleStorage.scaleFor(candidate, scheme.divisor(), DType.F16);
                    double[] d = new double[groupSize];
                    for (int i = 0; i < groupSize; i++) {
                        float v = w[from + i];
                        d[i] = (double) preScale[g * groupSize + i] * (v - scheme.quantize(v, s) * s);
                    }
                    double err = reference(d, x, g * groupSize);
                    if (err < bestErr) {
                        bestErr = err;
                        expected[r * groups + g] = candidate;
                    }
                }
            }
        }
        assertArrayEquals(expected, amax);
    }
}
