package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;

/**
 * Keys and values per layer in fp32 (the default), fp16, int8 or fp8 ({@link KvArray}; int8/fp8 with the layer's
 * scale). Values are {@code [slot][kvDim]}. Keys are stored per block and kv head as {@code [headDim][blockSize]},
 * position fastest, so that one vector load holds one dimension of consecutive positions and attention scores come
 * out a vector of positions at a time, with no horizontal sums.
 */
final class CpuKvCache implements KvCache {
    final KvArray[] keys;
    final KvArray[] values;
    final int kvDim;
    final int headDim;
    final int kvHeads;
    private final KvCacheDtype dtype;
    private final int numBlocks;
    private final int blockSize;

    CpuKvCache(int layers, int kvDim, int headDim, int numBlocks, int blockSize) {
        this(layers, kvDim, headDim, numBlocks, blockSize, KvCacheFormat.of(KvCacheDtype.FP32));
    }

    CpuKvCache(int layers, int kvDim, int headDim, int numBlocks, int blockSize, KvCacheFormat format) {
        if (kvDim % headDim != 0) {
            throw new IllegalArgumentException("kvDim " + kvDim + " is not a multiple of headDim " + headDim);
        }
        format.requireLayers(layers);
        this.dtype = format.dtype() == KvCacheDtype.AUTO ? KvCacheDtype.FP32 : format.dtype();
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.kvHeads = kvDim / headDim;
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        int length = Math.multiplyExact(Math.multiplyExact(numBlocks, blockSize), kvDim);
        keys = new KvArray[layers];
        values = new KvArray[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = KvArray.allocate(dtype, length, format.scale(l));
            values[l] = KvArray.allocate(dtype, length, format.scale(l));
        }
    }

    /** Index in {@code keys[layer]} of dimension 0 of kv head {@code head} in physical block {@code block}. */
    int keyBase(int block, int head) {
        return (block * kvHeads + head) * headDim * blockSize;
    }

    /** Index in {@code values[layer]} of dimension 0 of kv head {@code head} at cache slot {@code slot}. */
    int valueBase(int slot, int head) {
        return slot * kvDim + head * headDim;
    }

    /** Writes the key {@code src[kOff ..]} and value {@code src[vOff ..]} (kvDim each) of one token. */
    void store(int layer, int slot, float[] src, int kOff, int vOff) {
        int block = slot / blockSize;
        int offset = slot % blockSize;
        KvArray k = keys[layer];
        KvArray v = values[layer];
        for (int h = 0; h < kvHeads; h++) {
            int base = keyBase(block, h) + offset;
            for (int d = 0; d < headDim; d++) {
                k.set(base + d * blockSize, src[kOff + h * headDim + d]);
            }
        }
        float[] direct = v.direct();
        if (direct != null) {
            System.arraycopy(src, vOff, direct, slot * kvDim, kvDim);
            return;
        }
        for (int i = 0; i < kvDim; i++) {
            v.set(slot * kvDim + i, src[vOff + i]);
        }
    }

    /** The key of {@code slot}, dimension {@code i} of the kv dim, as attention reads it (for tests). */
    float key(int layer, int slot, int i) {
        int head = i / headDim;
        return keys[layer].get(keyBase(slot / blockSize, head) + (i % headDim) * blockSize + slot % blockSize);
    }

    /** The value of {@code slot}, dimension {@code i} of the kv dim, as attention reads it (for tests). */
    float value(int layer, int slot, int i) {
        return values[layer].get(slot * kvDim + i);
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public KvCacheDtype dtype() {
        return dtype;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long bytesPerToken() {
        return KvCache.bytesPerToken(keys.length, kvDim, dtype.bytes());
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
