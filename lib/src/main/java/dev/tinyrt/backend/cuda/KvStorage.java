package dev.tinyrt.backend.cuda;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The device memory of a KV cache: per layer a key and a value array, each {@code [blocks][kv_heads][block_size]
 * [head_dim]} fp16, so one block of one head is a contiguous tile. One allocation, owned by its own arena.
 */
final class KvStorage implements AutoCloseable {
    private static final AtomicLong IDS = new AtomicLong();

    final long id = IDS.incrementAndGet();
    final int layers;
    final int blocks;
    final int blockSize;
    final int kvHeads;
    final int headDim;
    private final DeviceArena arena;
    private final long base;
    private final long partBytes;

    KvStorage(CudaDevice device, int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        this.layers = layers;
        this.blocks = blocks;
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.partBytes = 2L * blocks * kvHeads * blockSize * headDim;
        this.arena = new DeviceArena(device, "KV cache");
        this.base = arena.allocate(2 * layers * partBytes);
    }

    boolean fits(int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        return this.layers == layers && blocks <= this.blocks && this.blockSize == blockSize
                && this.kvHeads == kvHeads && this.headDim == headDim;
    }

    long keys(int layer) {
        return base + 2L * layer * partBytes;
    }

    long values(int layer) {
        return base + (2L * layer + 1) * partBytes;
    }

    long bytes() {
        return 2 * layers * partBytes;
    }

    @Override
    public void close() {
        arena.close();
    }
}
