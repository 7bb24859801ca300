package dev.tinyrt.backend;

/**
 * A backend's paged key/value store: {@code numBlocks} blocks of {@code blockSize} token slots, per layer.
 * Which block belongs to which sequence is decided by the caller (block tables in {@link StepBatch}).
 */
public interface KvCache extends AutoCloseable {
    /** Tokens per block unless configured otherwise (TensorRT-LLM's default tokens_per_block). */
    int DEFAULT_BLOCK_SIZE = 32;

    int numBlocks();

    /** The element type keys and values are stored in (never {@link KvCacheDtype#AUTO}). */
    KvCacheDtype dtype();

    int blockSize();

    /** Bytes of keys and values this cache holds for one token slot, all layers together. */
    long bytesPerToken();

    long totalBytes();

    /**
     * Keys and values of one token over all layers, 2 × layers × kv_dim × element bytes: every backend stores one
     * key and one value row of kv_dim elements per layer and token slot.
     */
    static long bytesPerToken(int layers, int kvDim, int elementBytes) {
        return 2L * layers * kvDim * elementBytes;
    }

    @Override
    void close();
}
