package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The device memory of a KV cache: per layer a key and a value array, each {@code [blocks][kv_heads][block_size]
 * [head_dim]} of fp16, int8 or fp8 e4m3 elements, so one block of one head is a contiguous tile. Int8/fp8 hold
 * {@code x / scale} with the layer's scale (a kernel argument). One allocation, owned by its own arena.
 */
final class KvStorage implements AutoCloseable {
    private static final AtomicLong IDS = new AtomicLong();

    final long id = IDS.incrementAndGet();
    final int layers;
    final int blocks;
    final int blockSize;
    final int kvHeads;
    final int headDim;
    final KvCacheDtype dtype;
    private final KvCacheFormat format;
    private final DeviceArena arena;
    private final long base;
    private final long partBytes;

    /** @param format AUTO/FP16, INT8 or FP8 (the caller refuses the others) */
    KvStorage(CudaDevice device, int layers, int blocks, int blockSize, int kvHeads, int headDim,
              KvCacheFormat format) {
        this.layers = layers;
        this.blocks = blocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.format = format;
        this.dtype = storedDtype(format);
        this.partBytes = slotBytes(kvHeads, headDim, dtype) * blocks * blockSize;
        this.arena = new DeviceArena(device, "KV cache");
        this.base = arena.allocate(2 * layers * partBytes);
    }

    /** The element type a storage of {@code format} holds: fp16 for AUTO. */
    static KvCacheDtype storedDtype(KvCacheFormat format) {
        return format.dtype() == KvCacheDtype.AUTO ? KvCacheDtype.FP16 : format.dtype();
    }

    /** Keys (or values) of one token slot of one layer: kv_heads × head_dim elements. */
    private static long slotBytes(int kvHeads, int headDim, KvCacheDtype dtype) {
        return (long) dtype.bytes() * kvHeads * headDim;
    }

    /** Keys and values of one token slot over all layers, as {@link #bytes()} holds them per block slot. */
    static long bytesPerToken(int layers, int kvHeads, int headDim, KvCacheDtype dtype) {
        return KvCache.bytesPerToken(layers, kvHeads * headDim, dtype.bytes());
    }

    boolean fits(int layers, int blocks, int blockSize, int kvHeads, int headDim, KvCacheFormat format) {
        return this.layers == layers && blocks <= this.blocks && this.blockSize == blockSize
                && this.kvHeads == kvHeads && this.headDim == headDim && this.format.equals(format);
    }

    long keys(int layer) {
        return base + 2L * layer * partBytes;
    }

    long values(int layer) {
        return base + (2L * layer + 1) * partBytes;
    }

    /** The layer's dequantization scale (1 for fp16). */
    float scale(int layer) {
        return format.scale(layer);
    }

    long bytes() {
        return 2 * layers * partBytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
