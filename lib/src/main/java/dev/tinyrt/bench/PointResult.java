package dev.tinyrt.bench;

import java.util.List;

/**
 * One benchmark point (a system at one batch size, input and output length) with every measured run.
 *
 * @param batching      "inflight" (requests join and leave the batch between steps, {@code concurrency} kept in
 *                      flight) or "static" (waves of {@code concurrency} requests; the next wave starts when the
 *                      whole wave has finished)
 * @param batchSize     the executor's max_batch_size
 * @param inputLen      the nominal prompt length (the mean for a dataset)
 * @param executor      tinyrt's executor limits; null for the HF baseline
 * @param itlHistogramMs gaps between consecutive tokens, all measured runs pooled
 */
public record PointResult(String system, String backend, String precision, String batching, int batchSize,
                          int concurrency, int inputLen, int outputLen, int numRequests, ExecutorSettings executor,
                          int warmupRuns, List<RunMetrics> repeats, PointSummary summary, MemoryUsage memory,
                          KvCacheStats kvCache, Histogram itlHistogramMs) {
    public PointResult {
        repeats = List.copyOf(repeats);
    }

    /** The label of the system at this point's precision, as tables and charts show it. */
    public String label() {
        String kv = executor == null ? null : executor.quantizedKvCache();
        return system + " " + precision + (kv == null ? "" : " KV-" + kv)
                + ("static".equals(batching) && "tinyrt".equals(system) ? " (static)" : "");
    }
}
