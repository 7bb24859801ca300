package dev.tinyrt.quant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.stream.IntStream;

/**
 * Lower-triangular L with G = L·Lᵀ for a symmetric positive semi-definite G, in double. A second-moment matrix of
 * calibration rows is only semi-definite (fewer rows than columns, channels that never fire, exactly correlated
 * channels): a pivot that is zero up to rounding (at most {@code size · ulp(1) · max diag}) means the rest of its
 * column is zero too for an exactly PSD matrix, so the column is set to zero rather than divided by noise.
 */
final class Cholesky {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    private Cholesky() {
    }

    /** L row-major {@code [size, size]} of {@code g} (row-major, symmetric). */
    static double[] lower(double[] g, int size) {
        double maxDiag = 0;
        for (int i = 0; i < size; i++) {
            maxDiag = Math.max(maxDiag, g[i * size + i]);
        }
        double tol = size * Math.ulp(1.0) * maxDiag;
        double[] l = new double[size * size];
        // Crout order: column j needs columns < j; its entries below the diagonal are independent of each other
        for (int j = 0; j < size; j++) {
            int rj = j * size;
            double pivot = g[rj + j] - dot(l, rj, rj, j);
            double ljj = pivot > tol ? Math.sqrt(pivot) : 0;
            l[rj + j] = ljj;
            if (ljj == 0) {
                continue;
            }
            int col = j;
            IntStream rows = IntStream.range(j + 1, size);
            if ((long) (size - j) * j > 1 << 16) {
                rows = rows.parallel();
            }
            rows.forEach(i -> l[i * size + col] = (g[i * size + col] - dot(l, i * size, rj, col)) / ljj);
        }
        return l;
    }

    private static double dot(double[] v, int a, int b, int n) {
        DoubleVector acc = DoubleVector.zero(D);
        int bound = D.loopBound(n);
        int i = 0;
        for (; i < bound; i += D.length()) {
            acc = DoubleVector.fromArray(D, v, a + i).fma(DoubleVector.fromArray(D, v, b + i), acc);
        }
        double s = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (; i < n; i++) {
            s += v[a + i] * v[b + i];
        }
        return s;
    }
}
