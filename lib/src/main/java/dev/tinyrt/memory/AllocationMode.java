package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.runtime.ExecutorConfig;

import java.util.Locale;

/**
 * How the KV cache is handed out to sequences. "Standard" is contiguous per-sequence KV preallocated to
 * max_seq_len, as HF's static cache does it; the executor reproduces it exactly with one block of max_seq_len
 * tokens per sequence (a sequence takes its one block when admitted and keeps it to the end). "Paged" is tinyrt's
 * block pool with blocks of {@code tokensPerBlock} tokens taken as sequences grow.
 */
public record AllocationMode(String name, boolean standard, int tokensPerBlock, ExecutorConfig.Policy policy,
                             boolean prefixCaching) {

    public static AllocationMode standard(int maxSeqLen) {
        // one block per sequence: both policies admit exactly when a whole block is free, and nothing is preempted
        return new AllocationMode("standard", true, maxSeqLen, ExecutorConfig.Policy.GUARANTEED_NO_EVICT, false);
    }

    /** vLLM-style paging: admit while the prompt fits, preempt (and later recompute) the newest when blocks run out. */
    public static AllocationMode paged(int tokensPerBlock) {
        return new AllocationMode("paged-" + tokensPerBlock, false, tokensPerBlock,
                ExecutorConfig.Policy.MAX_UTILIZATION, false);
    }

    public AllocationMode withPolicy(ExecutorConfig.Policy p) {
        String suffix = p == ExecutorConfig.Policy.GUARANTEED_NO_EVICT ? "-no-evict" : "";
        return new AllocationMode((standard ? "standard" : "paged-" + tokensPerBlock) + suffix
                + (prefixCaching ? "-prefix" : ""), standard, tokensPerBlock, p, prefixCaching);
    }

    public AllocationMode withPrefixCaching(boolean on) {
        String base = name.replace("-prefix", "");
        return new AllocationMode(on ? base + "-prefix" : base, standard, tokensPerBlock, policy, on);
    }

    public String policyName() {
        return policy.name().toLowerCase(Locale.ROOT);
    }

    /** Executor limits for this mode over a KV pool of {@code budgetBytes}, rounded down to whole blocks. */
    public ExecutorConfig executorConfig(RunLimits limits, long budgetBytes, long bytesPerToken) {
        long blocks = budgetBytes / bytesPerToken / tokensPerBlock;
        if (blocks < 1) {
            throw new TinyrtException(String.format(Locale.ROOT, "a KV budget of %,d bytes holds no block of %d "
                    + "tokens (%,d bytes per token); raise --budget-gib", budgetBytes, tokensPerBlock, bytesPerToken));
        }
        long tokens = Math.min(Integer.MAX_VALUE / tokensPerBlock, blocks) * tokensPerBlock;
        return new ExecutorConfig(limits.maxBatchSize(), limits.maxNumTokens(), limits.maxSeqLen(), (int) tokens,
                tokensPerBlock, prefixCaching, policy);
    }
}
