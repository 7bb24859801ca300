package dev.tinyrt.quant;

import java.util.stream.IntStream;

/**
 * The second-moment matrix G = XᵀX / n of sampled input rows, {@code [cols, cols]} row-major. For a linear layer
 * with weight W and an approximation W', the mean squared output error over those rows is
 * mean over output rows r of (W_r - W'_r)ᵀ G (W_r - W'_r), so each candidate costs rows·cols² instead of
 * n·rows·cols — independent of how many calibration rows were kept.
 */
public final class Gram {
    private final int cols;
    private final double[] g;

    private Gram(int cols, double[] g) {
        this.cols = cols;
        this.g = g;
    }

    public static Gram of(float[][] rows, int cols) {
        double[] g = new double[cols * cols];
        int n = rows.length;
        IntStream.range(0, cols).parallel().forEach(i -> {
            for (float[] x : rows) {
                double xi = x[i];
                if (xi == 0) {
                    continue;
                }
                int off = i * cols;
                for (int j = i; j < cols; j++) {
                    g[off + j] += xi * x[j];
                }
            }
        });
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                double v = n == 0 ? 0 : g[i * cols + j] / n;
                g[i * cols + j] = v;
                g[j * cols + i] = v;
            }
        }
        return new Gram(cols, g);
    }

    public int cols() {
        return cols;
    }

    /** Mean squared output error of {@code approx} against {@code exact} (both {@code [rows, cols]}). */
    public double outputError(float[] exact, float[] approx, int rows) {
        double total = IntStream.range(0, rows).parallel().mapToDouble(r -> {
            double[] d = new double[cols];
            int off = r * cols;
            for (int j = 0; j < cols; j++) {
                d[j] = (double) exact[off + j] - approx[off + j];
            }
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                if (d[i] == 0) {
                    continue;
                }
                double acc = 0;
                int gOff = i * cols;
                for (int j = 0; j < cols; j++) {
                    acc += g[gOff + j] * d[j];
                }
                sum += d[i] * acc;
            }
            return sum;
        }).sum();
        return total / rows;
    }

    /** dᵀ G d restricted to the diagonal block of columns {@code [from, from + d.length)}. */
    public double blockError(double[] d, int from) {
        double sum = 0;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == 0) {
                continue;
            }
            double acc = 0;
            int gOff = (from + i) * cols + from;
            for (int j = 0; j < d.length; j++) {
                acc += g[gOff + j] * d[j];
            }
            sum += d[i] * acc;
        }
        return sum;
    }
}
