package dev.tinyrt.io;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Named tensors backed by memory-mapped safetensors data. Implementations are safe for concurrent reads;
 * after {@link #close()} the mapping is gone and segments handed out earlier throw IllegalStateException on access.
 */
public interface TensorSource extends AutoCloseable {
    /** Tensor names: in data order for one file, sorted by name for a sharded checkpoint. */
    List<String> names();

    boolean contains(String name);

    /** @throws dev.tinyrt.TinyrtException naming the source and tensor if absent */
    TensorInfo info(String name);

    /**
     * The tensor's little-endian bytes: a read-only, zero-copy slice of the mapping (not aligned; use the
     * *_UNALIGNED layouts).
     *
     * @throws dev.tinyrt.TinyrtException if absent
     * @throws IllegalStateException      after {@link #close()}
     */
    MemorySegment data(String name);

    /**
     * A heap fp32 copy of the tensor, converting F32/F16/BF16/F8_E4M3/I8/U8/I32 (I32 beyond 2^24 rounds) and
     * I64 whose values are all within ±2^24 (exactly representable).
     *
     * @throws dev.tinyrt.TinyrtException if absent, too large for one array, or I64 with a larger value
     */
    default float[] toFloats(String name) {
        return FloatDecoding.toFloats(info(name), data(name), path());
    }

    /** The header's "__metadata__" (for sharded checkpoints merged across shards and the index). Unmodifiable. */
    Map<String, String> metadata();

    /** The file, or the index file of a sharded checkpoint. */
    Path path();

    /** Unmaps the file(s). Idempotent. */
    @Override
    void close();
}
