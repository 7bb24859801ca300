package dev.tinyrt.backend.cpu;

/**
 * The keys and values of one kv head over a sequence's blocks, as fp32 for attention: the cache's own arrays for
 * an fp32 cache (no copy), else the blocks dequantized into this tile's scratch. Keys of block b start at
 * {@code keys[keyBase[b]]} as {@code [headDim][blockSize]}; the value of position o of block b starts at
 * {@code values[valueBase[b] + o * valueStride]}. One per thread, reused.
 */
final class KvTile {
    float[] keys;
    float[] values;
    int[] keyBase = new int[0];
    int[] valueBase = new int[0];
    int valueStride;
    private float[] keyScratch = new float[0];
    private float[] valueScratch = new float[0];

    /** Points this tile at the first {@code span} positions of the sequence with block table {@code table}. */
    void load(CpuKvCache cache, int layer, int kvHead, int[] table, int span) {
        int blockSize = cache.blockSize();
        int headDim = cache.headDim;
        int blocks = (span + blockSize - 1) / blockSize;
        if (keyBase.length < blocks) {
            keyBase = new int[Math.max(blocks, 2 * keyBase.length)];
            valueBase = new int[keyBase.length];
        }
        KvArray k = cache.keys[layer];
        KvArray v = cache.values[layer];
        float[] direct = k.direct();
        if (direct != null) {
            keys = direct;
            values = v.direct();
            valueStride = cache.kvDim;
            for (int b = 0; b < blocks; b++) {
                keyBase[b] = cache.keyBase(table[b], kvHead);
                valueBase[b] = cache.valueBase(table[b] * blockSize, kvHead);
            }
            return;
        }
        int tile = blockSize * headDim;
        if (keyScratch.length < blocks * tile) {
            keyScratch = new float[Math.max(blocks * tile, 2 * keyScratch.length)];
            valueScratch = new float[keyScratch.length];
        }
        keys = keyScratch;
        values = valueScratch;
        valueStride = headDim;
        for (int b = 0; b < blocks; b++) {
            keyBase[b] = b * tile;
            valueBase[b] = b * tile;
            k.widen(cache.keyBase(table[b], kvHead), keyScratch, b * tile, tile);
            int positions = Math.min(blockSize, span - b * blockSize);
            for (int o = 0; o < positions; o++) {
                v.widen(cache.valueBase(table[b] * blockSize + o, kvHead), valueScratch, b * tile + o * headDim,
                        headDim);
            }
        }
    }

    void clear() {
        keys = null;
        values = null;
    }
}
