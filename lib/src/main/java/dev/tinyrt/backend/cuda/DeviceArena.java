package dev.tinyrt.backend.cuda;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Device memory with one owner and one lifetime: everything allocated here is freed by {@link #close()} (single
 * buffers may be freed earlier). A backend owns one for its weights and activations, each KV cache storage another.
 */
final class DeviceArena implements AutoCloseable {
    private final CudaDevice device;
    private final String owner;
    private final Map<Long, Long> live = new LinkedHashMap<>();
    private long bytes;
    private boolean closed;

    DeviceArena(CudaDevice device, String owner) {
        this.device = device;
        this.owner = owner;
    }

    /** At least {@code size} bytes (cuMemAlloc aligns to 256 bytes), uninitialized. */
    long allocate(long size) {
        if (closed) {
            throw new IllegalStateException(owner + " memory is closed");
        }
        device.makeCurrent();
        long pointer = device.driver.malloc(Math.max(size, 16));
        live.put(pointer, size);
        bytes += size;
        return pointer;
    }

    void free(long pointer) {
        Long size = live.remove(pointer);
        if (size == null) {
            throw new IllegalArgumentException("0x" + Long.toHexString(pointer) + " is not live in " + owner);
        }
        bytes -= size;
        device.makeCurrent();
        device.driver.free(pointer);
    }

    /** Bytes currently allocated. */
    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        device.makeCurrent();
        RuntimeException first = null;
        for (long pointer : live.keySet()) {
            try {
                device.driver.free(pointer);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        live.clear();
        bytes = 0;
        if (first != null) {
            throw first;
        }
    }
}
