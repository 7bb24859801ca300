package dev.tinyrt.memory;

import dev.tinyrt.backend.Backend;

import java.util.Optional;

/**
 * The seam for accelerator memory. A backend whose tensors, weights and KV cache live on a device implements this
 * interface (the CUDA backend: {@code cuCtxSynchronize} then {@code cuMemGetInfo}); the memory analysis then
 * measures every component as the change in the device's used bytes, exactly as it measures the process on the
 * CPU. Nothing else is needed for a backend to plug in.
 */
public interface DeviceMemory {
    /** The device as reports name it, e.g. "NVIDIA H100 80GB HBM3 (driver 580.82)". */
    String deviceName();

    /** Free and total bytes once all queued work has finished. */
    Info info();

    /**
     * Free and total bytes right after the backend created its device context, before it allocated anything: the
     * context itself is not the model's memory, so the weights are measured from here.
     */
    Info atStart();

    record Info(long freeBytes, long totalBytes) {
        public long usedBytes() {
            return totalBytes - freeBytes;
        }
    }

    /** The backend's device memory, or empty for a backend that computes in host memory (the CPU backend). */
    static Optional<DeviceMemory> of(Backend backend) {
        return backend instanceof DeviceMemory d ? Optional.of(d) : Optional.empty();
    }
}
