package dev.tinyrt.backend;

/**
 * A backend's paged key/value store: {@code numBlocks} blocks of {@code blockSize} token slots, per layer.
 * Which block belongs to which sequence is decided by the caller (block tables in {@link StepBatch}).
 */
public interface KvCache extends AutoCloseable {
    int numBlocks();

    int blockSize();

    /** Bytes of keys and values this cache holds for one token slot, all layers together. */
    long bytesPerToken();

    long totalBytes();

    @Override
    void close();
}
