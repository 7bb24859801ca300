package dev.tinyrt.quality;

import java.util.Arrays;

/**
 * The distribution of per-token values, at the points llama.cpp prints for KLD and Δp. Percentiles interpolate
 * linearly at {@code fraction · (n - 1)} of the sorted values; the median averages the two middle values of an even
 * count (llama.cpp's {@code percentile} lambda and its median).
 */
public record Percentiles(double min, double p0_1, double p1, double p5, double p10, double p25, double median,
                          double p75, double p90, double p95, double p99, double p99_9, double max) {

    public static Percentiles of(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        double median = n % 2 == 0 ? 0.5 * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
        return new Percentiles(v[0], at(v, 0.001), at(v, 0.01), at(v, 0.05), at(v, 0.10), at(v, 0.25), median,
                at(v, 0.75), at(v, 0.90), at(v, 0.95), at(v, 0.99), at(v, 0.999), v[n - 1]);
    }

    /** The value at {@code fraction} of the sorted array {@code sorted}. */
    public static double at(double[] sorted, double fraction) {
        if (fraction <= 0) {
            return sorted[0];
        }
        if (fraction >= 1) {
            return sorted[sorted.length - 1];
        }
        double p = fraction * (sorted.length - 1);
        int ip = (int) p;
        double frac = p - ip;
        return (1 - frac) * sorted[ip] + frac * sorted[Math.min(ip + 1, sorted.length - 1)];
    }
}
