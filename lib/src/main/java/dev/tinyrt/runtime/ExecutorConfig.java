package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;

/**
 * Limits and policies of the batching executor, named as TensorRT-LLM names them.
 *
 * @param maxBatchSize   sequences in one step
 * @param maxNumTokens   tokens in one step (decode tokens + prefill chunks); long prompts are split into chunks
 * @param maxInputLen    longest prompt accepted (also bounded by the model's context)
 * @param kvCacheTokens  KV-cache capacity in tokens (rounded down to whole blocks)
 * @param tokensPerBlock KV-cache block size
 * @param prefixCaching  share full blocks between sequences with the same prefix
 * @param policy         what to do when blocks run out
 * @param kvCacheDtype   element type of the KV cache: AUTO is the model's own ({@code LlamaModel#kvCacheFormat});
 *                       int8/fp8 need the model's per-layer scales ({@code LoadedModel#executor} provides them)
 */
public record ExecutorConfig(int maxBatchSize, int maxNumTokens, int maxInputLen, int kvCacheTokens,
                             int tokensPerBlock, boolean prefixCaching, Policy policy, KvCacheDtype kvCacheDtype) {

    /**
     * Share of the GPU's free memory (after the weights are loaded) that the KV cache may take by default, as
     * TensorRT-LLM's {@code kv_cache_free_gpu_mem_fraction}.
     */
    public static final double DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION = 0.9;

    public enum Policy {
        /** Admit a request only when blocks for its whole possible length are free: nothing is ever evicted. */
        GUARANTEED_NO_EVICT,
        /** Admit as long as the prompt fits; when a running sequence needs a block, preempt the newest one and
         *  recompute it later. */
        MAX_UTILIZATION
    }

    public ExecutorConfig(int maxBatchSize, int maxNumTokens, int maxInputLen, int kvCacheTokens, int tokensPerBlock,
                          boolean prefixCaching, Policy policy) {
        this(maxBatchSize, maxNumTokens, maxInputLen, kvCacheTokens, tokensPerBlock, prefixCaching, policy,
                KvCacheDtype.AUTO);
    }

    public ExecutorConfig {
        check(kvCacheDtype != null, "kv_cache_dtype must be given (auto for the model's own)");
        check(maxBatchSize > 0, "max_batch_size must be > 0, got " + maxBatchSize);
        check(maxNumTokens > 0, "max_num_tokens must be > 0, got " + maxNumTokens);
        check(maxInputLen > 0, "max_input_len must be > 0, got " + maxInputLen);
        check(tokensPerBlock > 0, "tokens_per_block must be > 0, got " + tokensPerBlock);
        check(kvCacheTokens >= tokensPerBlock, "the KV cache must hold at least one block (" + tokensPerBlock
                + " tokens), got " + kvCacheTokens);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new TinyrtException(message);
        }
    }

    public static ExecutorConfig defaults(int kvCacheTokens) {
        return new ExecutorConfig(64, 2048, 1024, kvCacheTokens, KvCache.DEFAULT_BLOCK_SIZE, true,
                Policy.GUARANTEED_NO_EVICT);
    }

    public int numBlocks() {
        return kvCacheTokens / tokensPerBlock;
    }

    /**
     * KV-cache tokens that fit in {@code fraction} of {@code freeBytes}, like TensorRT-LLM's
     * kv_cache_free_gpu_mem_fraction.
     */
    public static int tokensForMemory(long freeBytes, double fraction, long bytesPerToken) {
        check(fraction > 0 && fraction <= 1, "memory fraction must be in (0, 1], got " + fraction);
        long tokens = (long) (freeBytes * fraction) / bytesPerToken;
        return (int) Math.min(Integer.MAX_VALUE, tokens);
    }

    public ExecutorConfig withMaxBatchSize(int n) {
        return new ExecutorConfig(n, maxNumTokens, maxInputLen, kvCacheTokens, tokensPerBlock, prefixCaching, policy,
                kvCacheDtype);
    }

    public ExecutorConfig withMaxNumTokens(int n) {
        return new ExecutorConfig(maxBatchSize, n, maxInputLen, kvCacheTokens, tokensPerBlock, prefixCaching, policy,
                kvCacheDtype);
    }

    public ExecutorConfig withMaxInputLen(int n) {
        return new ExecutorConfig(maxBatchSize, maxNumTokens, n, kvCacheTokens, tokensPerBlock, prefixCaching, policy,
                kvCacheDtype);
    }

    public ExecutorConfig withTokensPerBlock(int n) {
        return new ExecutorConfig(maxBatchSize, maxNumTokens, maxInputLen, kvCacheTokens, n, prefixCaching, policy,
                kvCacheDtype);
    }

    public ExecutorConfig withPrefixCaching(boolean on) {
        return new ExecutorConfig(maxBatchSize, maxNumTokens, maxInputLen, kvCacheTokens, tokensPerBlock, on, policy,
                kvCacheDtype);
    }

    public ExecutorConfig withPolicy(Policy p) {
        return new ExecutorConfig(maxBatchSize, maxNumTokens, maxInputLen, kvCacheTokens, tokensPerBlock,
                prefixCaching, p, kvCacheDtype);
    }

    public ExecutorConfig withKvCacheDtype(KvCacheDtype d) {
        return new ExecutorConfig(maxBatchSize, maxNumTokens, maxInputLen, kvCacheTokens, tokensPerBlock,
                prefixCaching, policy, d);
    }
}
