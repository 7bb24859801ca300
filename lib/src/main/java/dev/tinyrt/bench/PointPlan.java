package dev.tinyrt.bench;

import java.util.List;

/**
 * One point of the workload, ready to run: the requests every system serves (the same ids for all), and the
 * warm-up requests run before it and never measured.
 *
 * @param inputLen nominal prompt length (the mean for a dataset)
 */
public record PointPlan(Batching batching, int batchSize, int concurrency, int inputLen, int outputLen,
                        List<BenchRequest> requests, List<BenchRequest> warmupRequests) {
    public PointPlan {
        requests = List.copyOf(requests);
        warmupRequests = List.copyOf(warmupRequests);
    }

    public int longestSequence() {
        return requests.stream().mapToInt(r -> r.inputLength() + r.outputTokens()).max().orElse(0);
    }

    public int longestPrompt() {
        return requests.stream().mapToInt(BenchRequest::inputLength).max().orElse(0);
    }
}
