package dev.tinyrt.bench;

import java.util.List;

/**
 * The workload every system of a run served.
 *
 * @param kind        "fixed" (every request the same lengths), "token-norm-dist" (lengths drawn around the
 *                    means) or "dataset" (a trtllm-bench dataset file)
 * @param requests    requests per point; null means one per concurrent slot
 * @param concurrency requests in flight; null means the batch size
 * @param warmup      warm-up runs per point (one wave each, at most 32 output tokens), never measured
 * @param repeats     measured runs per point
 */
public record WorkloadInfo(String kind, String dataset, long seed, List<Integer> batchSizes, List<Integer> inputLens,
                           Integer outputLen, double inputStdev, double outputStdev, Integer requests,
                           Integer concurrency, int warmup, int repeats, List<String> batching) {
    public WorkloadInfo {
        batchSizes = List.copyOf(batchSizes);
        inputLens = List.copyOf(inputLens);
        batching = List.copyOf(batching);
    }
}
