package dev.tinyrt.bench;

/**
 * When one benchmarked request started, produced its first token and finished, in milliseconds from the start of
 * its run, with trtllm-bench's per-request metrics (tensorrt_llm/bench/dataclasses/statistics.py, RequestRecord).
 * {@code outputTokens} counts every generated token, the first included (trtllm-bench's
 * {@code num_total_output_tokens}).
 */
public record RequestTiming(int id, int inputTokens, int outputTokens, double startMs, double firstTokenMs,
                            double endMs) {

    /** Time to first token: first token - submit. */
    public double ttftMs() {
        return firstTokenMs - startMs;
    }

    /** End-to-end latency: end - submit. */
    public double e2eMs() {
        return endMs - startMs;
    }

    /** Generation time: end-to-end latency - TTFT. */
    public double generationMs() {
        return endMs - firstTokenMs;
    }

    /** Time per output token after the first (trtllm-bench's TPOT / intertoken_latency): (end - first) / (n - 1). */
    public double tpotMs() {
        return outputTokens > 1 ? generationMs() / (outputTokens - 1) : 0;
    }

    /** Generation throughput of this user, first token excluded: (n - 1) / generation time, tokens/s. */
    public double generationTokPerS() {
        return outputTokens > 1 && generationMs() > 0 ? (outputTokens - 1) / (generationMs() / 1e3) : 0;
    }

    /** Output throughput of this user with the context phase ("[w/ ctx]"): n / end-to-end latency, tokens/s. */
    public double outputTokPerS() {
        return e2eMs() > 0 ? outputTokens / (e2eMs() / 1e3) : 0;
    }
}
