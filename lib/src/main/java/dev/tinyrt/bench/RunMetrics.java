package dev.tinyrt.bench;

import java.util.List;

/**
 * One measured run summarised as trtllm-bench summarises it, with its JSON names (reporting.py,
 * {@code ReportUtility.get_statistics_dict}: "request_info", "performance", "streaming_metrics"):
 * <ul>
 * <li>total latency = last end - first start; request throughput = requests / total latency;</li>
 * <li>system output throughput = all output tokens / total latency; system total throughput = (input + output
 *     tokens) / total latency;</li>
 * <li>per-user output throughput [w/ ctx] = mean over requests of n / end-to-end latency; token output speed =
 *     mean over requests of (n - 1) / (end - first token);</li>
 * <li>TTFT, TPOT and end-to-end latency percentiles over requests ({@link Percentiles});</li>
 * <li>average concurrency = sum of request latencies / total latency.</li>
 * </ul>
 * {@code itl_percentiles} is an addition: the gaps between consecutive tokens of a request, pooled over requests
 * (vLLM's ITL); trtllm-bench's per-request average of those gaps is {@code tpot_percentiles}.
 */
public record RunMetrics(RequestInfo requestInfo, Performance performance, StreamingMetrics streamingMetrics,
                         List<RequestTiming> requests) {

    public record RequestInfo(int numRequests, double avgNumConcurrentRequests, double avgInputLength,
                              double avgOutputLength) {
    }

    public record Performance(double totalLatencyMs, double avgRequestLatencyMs, double requestThroughputReqS,
                              double systemOutputThroughputTokS, double systemTotalThroughputTokS,
                              double outputThroughputPerUserTokS, Percentiles requestLatencyPercentilesMs) {
    }

    public record StreamingMetrics(double tokenOutputSpeedTokS, double avgTtftMs, double avgTpotMs,
                                   Percentiles tpotPercentiles, Percentiles ttftPercentiles,
                                   Percentiles genTpsPercentiles, Percentiles itlPercentiles) {
    }

    /**
     * @param itlGapsMs every gap between two consecutive tokens of the same request, all requests together
     */
    public static RunMetrics of(List<RequestTiming> requests, double[] itlGapsMs) {
        int n = requests.size();
        if (n == 0) {
            throw new IllegalArgumentException("a run without requests has no metrics");
        }
        double start = Double.POSITIVE_INFINITY;
        double end = Double.NEGATIVE_INFINITY;
        long inputTokens = 0;
        long outputTokens = 0;
        double[] e2e = new double[n];
        double[] ttft = new double[n];
        double[] tpot = new double[n];
        double[] genTps = new double[n];
        double[] userTps = new double[n];
        for (int i = 0; i < n; i++) {
            RequestTiming r = requests.get(i);
            start = Math.min(start, r.startMs());
            end = Math.max(end, r.endMs());
            inputTokens += r.inputTokens();
            outputTokens += r.outputTokens();
            e2e[i] = r.e2eMs();
            ttft[i] = r.ttftMs();
            tpot[i] = r.tpotMs();
            genTps[i] = r.generationTokPerS();
            userTps[i] = r.outputTokPerS();
        }
        double totalMs = end - start;
        double totalS = totalMs / 1e3;
        Percentiles latency = Percentiles.of(e2e);
        Percentiles ttftP = Percentiles.of(ttft);
        Percentiles tpotP = Percentiles.of(tpot);
        Percentiles genP = Percentiles.of(genTps);
        RequestInfo info = new RequestInfo(n, totalMs > 0 ? latency.average() * n / totalMs : 0,
                (double) inputTokens / n, (double) outputTokens / n);
        Performance perf = new Performance(totalMs, latency.average(), rate(n, totalS), rate(outputTokens, totalS),
                rate(inputTokens + outputTokens, totalS), Percentiles.of(userTps).average(), latency);
        StreamingMetrics streaming = new StreamingMetrics(genP.average(), ttftP.average(), tpotP.average(), tpotP,
                ttftP, genP, Percentiles.of(itlGapsMs));
        return new RunMetrics(info, perf, streaming, List.copyOf(requests));
    }

    private static double rate(double amount, double seconds) {
        return seconds > 0 ? amount / seconds : 0;
    }
}
