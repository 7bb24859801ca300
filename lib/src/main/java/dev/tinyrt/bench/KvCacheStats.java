package dev.tinyrt.bench;

/**
 * How much of the paged KV cache a point used, from the executor's per-step statistics.
 *
 * @param peakUtilization share of all blocks in use at the fullest step
 * @param meanUtilization share of all blocks in use, averaged over steps
 * @param meanFragmentation share of the used blocks' slots that held no token, averaged over steps
 */
public record KvCacheStats(int capacityTokens, int tokensPerBlock, int totalBlocks, int peakUsedBlocks,
                           double peakUtilization, double meanUtilization, double meanFragmentation, long steps) {
}
