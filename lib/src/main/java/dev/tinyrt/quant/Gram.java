package dev.tinyrt.quant;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * The second moments G = XᵀX / n of n sampled input rows of a linear layer, {@code [cols, cols]}. For a weight W
 * and an approximation W' with D = W - W', the mean squared output error over those rows is
 * mean over output rows r of D_rᵀ G D_r = ||D·F||² / (n · rows) for any F with XᵀX = F·Fᵀ.
 *
 * <p>Two such F, whichever makes a candidate cheaper (rows · cols · width of F multiply-adds, see
 * {@link PanelProduct}): with fewer sampled rows than columns, F = Xᵀ itself (width n: the error is computed
 * directly from the rows); otherwise the Cholesky factor L of XᵀX (width cols, lower triangular, so half of it is
 * skipped: rows · cols² / 2). Either way the error is a sum of squares, so no cancellation between terms.
 *
 * <p>AWQ's clip search needs D_bᵀ G_bb D_b for a group's diagonal block; those use the Cholesky factor of each
 * block (groupSize² / 2 per row and candidate), built on first use.
 */
public final class Gram {
    private final int cols;
    private final float[][] x;
    private final PackedPanels factor;
    private final Map<Integer, PackedPanels[]> blockFactors = new ConcurrentHashMap<>();

    private Gram(int cols, float[][] x, PackedPanels factor) {
        this.cols = cols;
        this.x = x;
        this.factor = factor;
    }

    /** @param rows the sampled input rows {@code [n][cols]} (kept, not copied) */
    public static Gram of(float[][] rows, int cols) {
        for (float[] row : rows) {
            if (row.length != cols) {
                throw new IllegalArgumentException("row of " + row.length + " values for " + cols + " columns");
            }
        }
        int n = rows.length;
        PackedPanels f = n < cols
                ? PackedPanels.pack(cols, n, false, (j, t) -> rows[t][j])
                : lowerFactor(secondMoments(rows, 0, cols), cols);
        return new Gram(cols, rows, f);
    }

    public int cols() {
        return cols;
    }

    /** Sampled rows behind G. */
    public int samples() {
        return x.length;
    }

    /** Mean squared output error of {@code approx} against {@code exact} (both {@code [rows, cols]}). */
    public double outputError(float[] exact, float[] approx, int rows) {
        float[] d = new float[rows * cols];
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int j = r * cols; j < (r + 1) * cols; j++) {
                d[j] = exact[j] - approx[j];
            }
        });
        return error(d, rows);
    }

    /** Mean over rows of d_rᵀ G d_r for the weight error {@code d} ({@code [rows, cols]}). */
    public double error(float[] d, int rows) {
        if (x.length == 0) {
            return 0;
        }
        double[] perRow = PanelProduct.rowSquaredNorms(d, 0, rows, cols, factor);
        double sum = 0;
        for (double v : perRow) {
            sum += v;
        }
        return sum / ((double) x.length * rows);
    }

    /**
     * d_iᵀ G_bb d_i for each of the {@code m} rows of {@code d} ({@code [m, groupSize]}), G_bb the diagonal block
     * of columns {@code [group · groupSize, (group + 1) · groupSize)}.
     */
    public double[] blockErrors(float[] d, int m, int group, int groupSize) {
        if (x.length == 0) {
            return new double[m];
        }
        PackedPanels f = blockFactors.computeIfAbsent(groupSize, gs -> IntStream.range(0, cols / gs).parallel()
                .mapToObj(g -> lowerFactor(secondMoments(x, g * gs, gs), gs)).toArray(PackedPanels[]::new))[group];
        double[] e = PanelProduct.rowSquaredNorms(d, 0, m, groupSize, f);
        for (int i = 0; i < m; i++) {
            e[i] /= x.length;
        }
        return e;
    }

    /** X_bᵀX_b (not divided by n) for the columns {@code [from, from + width)} of the rows, row-major. */
    static double[] secondMoments(float[][] rows, int from, int width) {
        int n = rows.length;
        float[] xt = new float[width * n];
        for (int t = 0; t < n; t++) {
            for (int c = 0; c < width; c++) {
                xt[c * n + t] = rows[t][from + c];
            }
        }
        double[] g = new double[width * width];
        PackedPanels b = PackedPanels.pack(n, width, false, (t, c) -> rows[t][from + c]);
        PanelProduct.multiply(xt, 0, width, n, b, (r0, rs, c0, cs, acc, stride) -> {
            for (int i = 0; i < rs; i++) {
                System.arraycopy(acc, i * stride, g, (r0 + i) * width + c0, cs);
            }
        });
        return g;
    }

    private static PackedPanels lowerFactor(double[] g, int size) {
        double[] l = Cholesky.lower(g, size);
        return PackedPanels.pack(size, size, true, (j, c) -> (float) l[j * size + c]);
    }
}
