package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Benchmark results made from seeded synthetic timestamps, for schema, table and chart tests. */
public final class SyntheticResults {
    private SyntheticResults() {
    }

    /** One run of {@code n} requests whose token gaps scale with {@code msPerToken}. */
    public static ExecutorRun.Outcome run(int n, int input, int output, double msPerToken, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<RequestTiming> timings = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double start = i * 0.5;
            double t = start + msPerToken * input / 50 + r.nextDouble();
            double first = t;
            for (int k = 1; k < output; k++) {
                double gap = msPerToken * (0.8 + 0.4 * r.nextDouble());
                gaps.add(gap);
                t += gap;
            }
            timings.add(new RequestTiming(i, input, output, start, first, t));
        }
        return new ExecutorRun.Outcome(timings, gaps.stream().mapToDouble(Double::doubleValue).toArray());
    }

    public static PointResult point(String system, String precision, String backend, int batch, int input,
                                    int output, double msPerToken, long seed) {
        List<RunMetrics> runs = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            ExecutorRun.Outcome o = run(batch, input, output, msPerToken * (1 + 0.01 * k), seed + k);
            runs.add(RunMetrics.of(o.timings(), o.itlGapsMs()));
            for (double g : o.itlGapsMs()) {
                gaps.add(g);
            }
        }
        boolean tinyrt = system.equals("tinyrt");
        MemoryUsage memory = new MemoryUsage(500L << 20, tinyrt ? 100L << 20 : null, 50L << 20, tinyrt ? 8L << 20 : null,
                null, null, null);
        return new PointResult(system, backend, precision, tinyrt ? "inflight" : "static", batch, batch, input,
                output, batch, tinyrt ? new ExecutorSettings(batch, 2048, 4096, 32, false, "GUARANTEED_NO_EVICT", "auto") : null,
                1, runs, PointSummary.of(runs), memory,
                tinyrt ? new KvCacheStats(4096, 32, 128, 64, 0.5, 0.25, 0.1, 100) : null,
                Histogram.of(gaps.stream().mapToDouble(Double::doubleValue).toArray(), 40));
    }

    /** tinyrt fp16 and the HF baseline at batch sizes 1 and 8, input lengths 32 and 64. */
    public static BenchmarkReport report(String date) {
        List<PointResult> results = new ArrayList<>();
        for (int input : List.of(32, 64)) {
            for (int batch : List.of(1, 8)) {
                results.add(point("tinyrt", "fp16", "cpu", batch, input, 16, 5.0 + batch * 0.1, input + batch));
                results.add(point("hf", "fp32", "cpu", batch, input, 16, 20.0 + batch, input * batch));
            }
        }
        ObjectNode machine = JsonNodeFactory.instance.objectNode().put("cpu", "Test CPU").put("logical_cores", 2);
        ObjectNode software = JsonNodeFactory.instance.objectNode();
        software.putObject("java").put("version", "25");
        ObjectNode details = JsonNodeFactory.instance.objectNode().put("threads", 2);
        return new BenchmarkReport(BenchmarkReport.SCHEMA, date, "jbang jbang-scripts/benchmark.java --test",
                "0123456789abcdef0123456789abcdef01234567", true, machine, software, null,
                new ModelInfo("tiny", "data/models/tiny", 1000, 32000, 128, 2, 4, 2, 512, "float16"),
                new WorkloadInfo("fixed", null, 0, List.of(1, 8), List.of(32, 64), 16, 0, 0, null, null, 1, 3,
                        List.of("inflight")),
                List.of(new SystemInfo("tinyrt", "cpu", "fp16", "Test CPU (2 threads)", 50L << 20, details),
                        new SystemInfo("hf", "cpu", "fp32", "Test CPU", 100L << 20, details)),
                results);
    }
}
