package dev.tinyrt.bench;

import java.util.Arrays;

/**
 * Distribution summary with trtllm-bench's names and definition (tensorrt_llm/bench/dataclasses/statistics.py,
 * {@code PercentileStats.from_iterable}): the values are sorted and {@code pXX = sorted[int(n * XX / 100)]} — a
 * nearest-rank percentile without interpolation — next to the plain minimum, maximum and mean.
 */
public record Percentiles(double p50, double p90, double p95, double p99, double minimum, double maximum,
                          double average) {

    /** All zeros, for an empty sample (trtllm-bench reports undefined latencies as 0 too). */
    public static final Percentiles EMPTY = new Percentiles(0, 0, 0, 0, 0, 0, 0);

    public static Percentiles of(double... values) {
        int n = values.length;
        if (n == 0) {
            return EMPTY;
        }
        double sum = 0;
        for (double x : values) {  // in the given order, as trtllm-bench's sum(values)
            sum += x;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        return new Percentiles(v[(int) (n * 0.50)], v[(int) (n * 0.90)], v[(int) (n * 0.95)], v[(int) (n * 0.99)],
                v[0], v[n - 1], sum / n);
    }
}
