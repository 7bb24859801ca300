package dev.tinyrt.bench;

import java.util.ArrayList;
import java.util.List;

/** Counts of values in equal-width bins; {@code binEdges} has one more entry than {@code counts}. */
public record Histogram(List<Double> binEdges, List<Long> counts) {
    public Histogram {
        binEdges = List.copyOf(binEdges);
        counts = List.copyOf(counts);
        if (binEdges.size() != counts.size() + 1) {
            throw new IllegalArgumentException(binEdges.size() + " edges for " + counts.size() + " bins");
        }
    }

    /** {@code bins} equal bins from the smallest to the largest value (the largest falls in the last bin). */
    public static Histogram of(double[] values, int bins) {
        if (values.length == 0) {
            return new Histogram(List.of(0.0), List.of());
        }
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        if (hi == lo) {
            return new Histogram(List.of(lo, hi), List.of((long) values.length));
        }
        long[] counts = new long[bins];
        double width = (hi - lo) / bins;
        for (double v : values) {
            counts[Math.min(bins - 1, (int) ((v - lo) / width))]++;
        }
        List<Double> edges = new ArrayList<>();
        for (int i = 0; i <= bins; i++) {
            edges.add(i == bins ? hi : lo + i * width);
        }
        List<Long> c = new ArrayList<>();
        for (long n : counts) {
            c.add(n);
        }
        return new Histogram(edges, c);
    }
}
