package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;

/**
 * A KV cache handed out by {@link CudaBackend}: a view of {@code numBlocks} blocks of a {@link KvStorage} (the
 * backend's reusable one when it is free, so steps recorded as CUDA graphs stay valid across requests).
 */
final class CudaKvCache implements KvCache {
    final KvStorage storage;
    final int heads;
    private final CudaBackend owner;
    private final int numBlocks;
    private boolean closed;

    CudaKvCache(CudaBackend owner, KvStorage storage, int numBlocks, int heads) {
        this.owner = owner;
        this.storage = storage;
        this.numBlocks = numBlocks;
        this.heads = heads;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public KvCacheDtype dtype() {
        return storage.dtype;
    }

    @Override
    public int blockSize() {
        return storage.blockSize;
    }

    @Override
    public long bytesPerToken() {
        return KvStorage.bytesPerToken(storage.layers, storage.kvHeads, storage.headDim, storage.dtype);
    }

    @Override
    public long totalBytes() {
        return bytesPerToken() * numBlocks * storage.blockSize;
    }

    /** Query heads served by one prefill attention block (they share a KV head). */
    int headsPerBlock() {
        return KernelNames.headsPerBlock(heads, storage.kvHeads);
    }

    /** Query heads served by one decode attention block. */
    int decodeHeadsPerBlock() {
        return KernelNames.decodeHeadsPerBlock(heads, storage.kvHeads);
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the KV cache is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            owner.release(this);
        }
    }
}
