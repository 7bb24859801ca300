package dev.tinyrt.backend.cuda;

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
        this.dtype = format.dtype() == KvCacheDtype.AUTO ? KvCacheDtype.FP16 : format.dtype();
        this.partBytes = (long) dtype.bytes() * blocks * kvHeads * blockSize * headDim;
        this.arena = new DeviceArena(device, "KV cache");
        this.base = arena.allocate(2 * layers * partBytes);
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
