package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCache;

/**
 * fp32 keys and values per layer. Values are {@code [slot][kvDim]}. Keys are stored per block and kv head as
 * {@code [headDim][blockSize]}, position fastest, so that one vector load holds one dimension of consecutive
 * positions and attention scores come out a vector of positions at a time, with no horizontal sums.
 */
final class CpuKvCache implements KvCache {
    final float[][] keys;
    final float[][] values;
    final int kvDim;
    final int headDim;
    final int kvHeads;
    private final int numBlocks;
    private final int blockSize;

    CpuKvCache(int layers, int kvDim, int headDim, int numBlocks, int blockSize) {
        if (kvDim % headDim != 0) {
            throw new IllegalArgumentException("kvDim " + kvDim + " is not a multiple of headDim " + headDim);
        }
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.kvHeads = kvDim / headDim;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        int slots = Math.multiplyExact(numBlocks, blockSize);
        keys = new float[layers][];
        values = new float[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[Math.multiplyExact(slots, kvDim)];
            values[l] = new float[Math.multiplyExact(slots, kvDim)];
        }
    }

    /** Index in {@code keys[layer]} of dimension 0 of kv head {@code head} in physical block {@code block}. */
    int keyBase(int block, int head) {
        return (block * kvHeads + head) * headDim * blockSize;
    }

    /** Writes the key {@code src[kOff ..]} and value {@code src[vOff ..]} (kvDim each) of one token. */
    void store(int layer, int slot, float[] src, int kOff, int vOff) {
        int block = slot / blockSize;
        int offset = slot % blockSize;
        float[] k = keys[layer];
        for (int h = 0; h < kvHeads; h++) {
            int base = keyBase(block, h) + offset;
            for (int d = 0; d < headDim; d++) {
                k[base + d * blockSize] = src[kOff + h * headDim + d];
            }
        }
        System.arraycopy(src, vOff, values[layer], slot * kvDim, kvDim);
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long bytesPerToken() {
        return 2L * keys.length * kvDim * Float.BYTES;
    }

    @Override
    public long totalBytes() {
        return bytesPerToken() * numBlocks * blockSize;
    }

    @Override
    public void close() {
        // heap arrays: nothing to release early
    }
}
