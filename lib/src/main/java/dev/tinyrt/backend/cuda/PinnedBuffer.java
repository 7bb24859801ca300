package dev.tinyrt.backend.cuda;

import java.lang.foreign.MemorySegment;

/** Page-locked host memory (cuMemAllocHost) for asynchronous copies, grown on demand. */
final class PinnedBuffer implements AutoCloseable {
    private final CudaDevice device;
    private MemorySegment segment;

    PinnedBuffer(CudaDevice device, long initialBytes) {
        this.device = device;
        this.segment = device.driver.mallocHost(initialBytes);
    }

    /** The buffer, at least {@code bytes} long. The caller must know no copy is still reading or writing it. */
    MemorySegment atLeast(long bytes) {
        if (segment.byteSize() < bytes) {
            long grown = Math.max(bytes, 2 * segment.byteSize());
            device.driver.freeHost(segment);
            segment = MemorySegment.NULL;
            segment = device.driver.mallocHost(grown);
        }
        return segment;
    }

    @Override
    public void close() {
        if (!segment.equals(MemorySegment.NULL)) {
            device.driver.freeHost(segment);
            segment = MemorySegment.NULL;
        }
    }
}
