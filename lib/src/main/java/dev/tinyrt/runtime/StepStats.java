package dev.tinyrt.runtime;

/**
 * What one executor step did and how the KV cache looked after it.
 *
 * @param prefillTokens prompt tokens computed in this step (chunks included)
 * @param decodeTokens  sequences that produced a token in this step
 * @param usedTokens    tokens whose keys/values sit in used blocks (the rest of those blocks is fragmentation)
 */
public record StepStats(long step, long nanos, int sequences, int prefillTokens, int decodeTokens, int waiting,
                        int blocksUsed, int blocksFree, int blocksShared, long usedTokens, int blockSize) {

    /** Share of the allocated block space that holds no token (internal fragmentation). */
    public double fragmentation() {
        long allocated = (long) blocksUsed * blockSize;
        return allocated == 0 ? 0 : 1.0 - (double) usedTokens / allocated;
    }
}
