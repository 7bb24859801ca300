package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.KvCacheDtype;

/**
 * Which kernel runs a decode step's attention, and its grid. Both kernels take the same arguments (attention.cuh,
 * attention_batch.cuh), read fp16, int8 and fp8 KV caches alike (one variant per KV type) and write the same output:
 * <ul>
 *   <li>the latency kernel (batches below {@code batchFrom}, or shapes the other lacks): blocks of at most 4 query
 *   heads, a split per tile of keys, so a single sequence spreads over the GPU; or its wide variant (one head per
 *   block of 512 threads, 256-key tiles for 64-dim heads), which leaves short contexts one split and so no merge;</li>
 *   <li>the batched kernel: one block per (row, KV head) serving the whole GQA group, so each key and value is read
 *   once per step, and a split per {@link #BATCH_SPLIT_KEYS} keys. Its split length is fixed, not derived from the
 *   batch, so a sequence's output bits do not depend on which other sequences share the step.</li>
 * </ul>
 * The threshold is {@code -Dtinyrt.cuda.batchAttentionFrom=N} (default {@value #DEFAULT_BATCH_FROM}; 0 turns the
 * batched kernel off).
 */
record DecodeAttention(String kernel, int gridX, int threads, DecodeSplits splits, boolean batched) {
    static final int DEFAULT_BATCH_FROM = 8;
    /** Keys per split of the batched kernel: four of its 64-key tiles, so contexts up to 256 need no merge. */
    static final int BATCH_SPLIT_KEYS = 256;
    private static final int LATENCY_THREADS = 128;
    static final int WIDE_THREADS = 512;

    /** The threshold from {@code -Dtinyrt.cuda.batchAttentionFrom}. */
    static int batchFromProperty() {
        return Integer.getInteger("tinyrt.cuda.batchAttentionFrom", DEFAULT_BATCH_FROM);
    }

    /**
     * @param rows       the step's rows (one per sequence)
     * @param capacity   keys the block tables can address (table width x block size): bounds the splits
     * @param batchFrom  rows from which the batched kernel runs (0: never)
     * @param splitKeys  keys per split of the batched kernel (a multiple of 64)
     */
    static DecodeAttention choose(KvCacheDtype kvDtype, int rows, int heads, int kvHeads, int headDim,
                                  int headsPerBlock, int capacity, int batchFrom, int splitKeys) {
        return choose(kvDtype, rows, heads, kvHeads, headDim, headsPerBlock, capacity, batchFrom, splitKeys, false);
    }

    /** As above; {@code wide}: the latency kernel's wide variant where the latency kernel runs. */
    static DecodeAttention choose(KvCacheDtype kvDtype, int rows, int heads, int kvHeads, int headDim,
                                  int headsPerBlock, int capacity, int batchFrom, int splitKeys, boolean wide) {
        int group = heads / kvHeads;
        if (batchFrom > 0 && rows >= batchFrom && KernelNames.hasBatchDecode(headDim, group)) {
            return new DecodeAttention(KernelNames.attentionDecodeBatch(kvDtype, headDim, group), kvHeads, 2 * headDim,
                    new DecodeSplits(splitKeys, (capacity + splitKeys - 1) / splitKeys), true);
        }
        if (wide) {
            return new DecodeAttention(KernelNames.attentionDecodeWide(kvDtype, headDim), heads, WIDE_THREADS,
                    DecodeSplits.forCapacity(capacity, headDim, WIDE_THREADS), false);
        }
        return new DecodeAttention(KernelNames.attentionDecode(kvDtype, headDim, headsPerBlock), heads / headsPerBlock,
                LATENCY_THREADS, DecodeSplits.forCapacity(capacity, headDim), false);
    }

    /** Split counters the kernel uses: one per (row, block along x), reset to 0 by the kernel after use. */
    long counters(int rows) {
        return (long) rows * gridX;
    }
}
