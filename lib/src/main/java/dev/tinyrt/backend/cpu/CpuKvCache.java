package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCache;

/** fp32 keys and values per layer, {@code [numBlocks * blockSize, kvDim]} each. */
final class CpuKvCache implements KvCache {
    final float[][] keys;
    final float[][] values;
    final int kvDim;
    final int headDim;
    private final int numBlocks;
    private final int blockSize;

    CpuKvCache(int layers, int kvDim, int headDim, int numBlocks, int blockSize) {
        this.kvDim = kvDim;
        this.headDim = headDim;
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
