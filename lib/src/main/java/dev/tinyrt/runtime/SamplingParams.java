package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;

import java.util.List;

/**
 * How to pick tokens and when to stop. {@code temperature == 0} means greedy. Transforms apply in HF's order:
 * repetition penalty, temperature, top-k, top-p.
 *
 * @param seed     random seed for sampling; {@code null} draws one
 * @param logprobs how many top log-probabilities (of the raw logits) to return per generated token, 0 for none
 */
public record SamplingParams(float temperature, int topK, float topP, float repetitionPenalty, Long seed,
                             int maxNewTokens, List<String> stopStrings, boolean ignoreEos, int logprobs) {

    public SamplingParams {
        stopStrings = List.copyOf(stopStrings);
        check(temperature >= 0 && Float.isFinite(temperature), "temperature must be >= 0, got " + temperature);
        check(topK >= 0, "top-k must be >= 0 (0 disables it), got " + topK);
        check(topP > 0 && topP <= 1, "top-p must be in (0, 1], got " + topP);
        check(repetitionPenalty > 0 && Float.isFinite(repetitionPenalty),
                "repetition penalty must be > 0, got " + repetitionPenalty);
        check(maxNewTokens >= 0, "max new tokens must be >= 0, got " + maxNewTokens);
        check(logprobs >= 0, "logprobs must be >= 0, got " + logprobs);
        check(stopStrings.stream().noneMatch(String::isEmpty), "stop strings must not be empty");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new TinyrtException(message);
        }
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(0f, 0, 1f, 1f, null, maxNewTokens, List.of(), false, 0);
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }

    public SamplingParams withTemperature(float t) {
        return new SamplingParams(t, topK, topP, repetitionPenalty, seed, maxNewTokens, stopStrings, ignoreEos, logprobs);
    }

    public SamplingParams withTopK(int k) {
        return new SamplingParams(temperature, k, topP, repetitionPenalty, seed, maxNewTokens, stopStrings, ignoreEos,
                logprobs);
    }

    public SamplingParams withTopP(float p) {
        return new SamplingParams(temperature, topK, p, repetitionPenalty, seed, maxNewTokens, stopStrings, ignoreEos,
                logprobs);
    }

    public SamplingParams withRepetitionPenalty(float r) {
        return new SamplingParams(temperature, topK, topP, r, seed, maxNewTokens, stopStrings, ignoreEos, logprobs);
    }

    public SamplingParams withSeed(Long s) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, s, maxNewTokens, stopStrings, ignoreEos,
                logprobs);
    }

    public SamplingParams withMaxNewTokens(int n) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, seed, n, stopStrings, ignoreEos, logprobs);
    }

    public SamplingParams withStopStrings(List<String> stops) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stops, ignoreEos,
                logprobs);
    }

    public SamplingParams withIgnoreEos(boolean ignore) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stopStrings, ignore,
                logprobs);
    }

    public SamplingParams withLogprobs(int k) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stopStrings, ignoreEos,
                k);
    }
}
