package dev.tinyrt.memory;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.cuda.CudaBackend;
import dev.tinyrt.backend.cuda.CudaDevice;

import java.util.Locale;
import java.util.Optional;

/**
 * The seam for accelerator memory: the device's free and total bytes as the device reports them. With a device,
 * every component of the analysis is measured as the change in the device's used bytes, exactly as the process is
 * measured on the CPU. The CUDA backend's device is read with {@code cuMemGetInfo} ({@link CudaDevice#memoryInfo});
 * another backend plugs in by implementing this interface itself.
 */
public interface DeviceMemory {
    /** The device as reports name it, e.g. "NVIDIA H100 80GB HBM3 (CUDA 13.0)". */
    String deviceName();

    /** Free and total bytes now. */
    Info info();

    record Info(long freeBytes, long totalBytes) {
        public long usedBytes() {
            return totalBytes - freeBytes;
        }
    }

    /** The backend's device memory, or empty for a backend that computes in host memory (the CPU backend). */
    static Optional<DeviceMemory> of(Backend backend) {
        if (backend instanceof DeviceMemory d) {
            return Optional.of(d);
        }
        if (backend instanceof CudaBackend cuda) {
            return Optional.of(new Cuda(cuda.device()));
        }
        return Optional.empty();
    }

    /**
     * The device a backend of this name will compute on, opened before any model is loaded: its first reading
     * already includes the device context, so what follows is the model's. Empty for the CPU; a backend that
     * cannot start says why (a {@link dev.tinyrt.TinyrtException}).
     */
    static Optional<DeviceMemory> forBackend(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("cuda") || n.equals("auto") && CudaDevice.unavailableReason().isEmpty()) {
            return Optional.of(new Cuda(CudaDevice.get()));
        }
        return Optional.empty();
    }

    /** The process's CUDA device (shared by every CUDA backend of the process, so its context outlives them). */
    record Cuda(CudaDevice device) implements DeviceMemory {
        @Override
        public String deviceName() {
            int v = device.driverVersion();
            return device.name() + " (CUDA " + v / 1000 + "." + v % 1000 / 10 + ")";
        }

        @Override
        public Info info() {
            long[] freeTotal = device.memoryInfo();
            return new Info(freeTotal[0], freeTotal[1]);
        }
    }
}
