package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;

/**
 * Executor limits of memory runs. The step token budget (TensorRT-LLM's default 8192, at least a full batch of
 * decodes plus one longest prompt) is large enough that every admitted sequence runs in every step once the first
 * prompts are in, so the sequences of a step are the sequences holding KV memory, and memory (or
 * {@code maxBatchSize}) is what limits concurrency.
 *
 * @param maxSeqLen prompt + output tokens of the longest request; also the block of the standard allocation
 */
public record RunLimits(int maxBatchSize, int maxNumTokens, int maxSeqLen) {
    public RunLimits {
        if (maxBatchSize < 1 || maxSeqLen < 2) {
            throw new TinyrtException("max batch size must be >= 1 and max_seq_len >= 2");
        }
    }

    public static RunLimits of(int maxBatchSize, int maxSeqLen) {
        return new RunLimits(maxBatchSize, Math.max(8192, maxBatchSize + maxSeqLen), maxSeqLen);
    }
}
