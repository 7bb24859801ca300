package dev.tinyrt.backend.cuda;

import dev.tinyrt.TinyrtException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The GPU this process uses, opened once: the driver and cuBLAS libraries, device 0's primary context (shared with
 * cuBLAS, which runs on the CUDA runtime) and tinyrt's kernel module. Backends come and go; these stay, so loading
 * and closing engines neither reloads code nor leaks it. System property {@code tinyrt.cuda.device} picks another
 * ordinal.
 */
public final class CudaDevice {
    private static CudaDevice shared;
    private static TinyrtException failure;

    final CudaDriver driver;
    final Cublas cublas;
    private final MemorySegment context;
    private final MemorySegment module;
    private final int ordinal;
    private final String name;
    private final int driverVersion;
    private final int computeMajor;
    private final int computeMinor;
    private final int multiprocessors;
    private final long totalMemory;
    private final int memoryClockKhz;
    private final int memoryBusBits;
    private final Map<String, MemorySegment> functions = new ConcurrentHashMap<>();
    private final Map<String, Integer> residentBlocks = new ConcurrentHashMap<>();
    private final Map<String, Integer> sharedLimits = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);

    private CudaDevice(CudaDriver driver, int ordinal) {
        this.driver = driver;
        this.ordinal = ordinal;
        int device = driver.device(ordinal);
        this.name = driver.deviceName(device);
        this.driverVersion = driver.driverVersion();
        this.computeMajor = driver.attribute(device, CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR);
        this.computeMinor = driver.attribute(device, CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = driver.attribute(device, CudaDriver.ATTR_MULTIPROCESSOR_COUNT);
        this.memoryClockKhz = driver.attribute(device, CudaDriver.ATTR_MEMORY_CLOCK_RATE);
        this.memoryBusBits = driver.attribute(device, CudaDriver.ATTR_GLOBAL_MEMORY_BUS_WIDTH);
        this.totalMemory = driver.totalMemory(device);
        if (computeMajor < 8) {
            throw new TinyrtException(name + " has compute capability " + computeMajor + "." + computeMinor
                    + "; tinyrt's kernels need 8.0 (Ampere) or newer");
        }
        this.context = driver.retainPrimaryContext(device);
        makeCurrent();
        byte[] image = KernelImage.load();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment copy = a.allocate(image.length + 1L, 64);
            MemorySegment.copy(image, 0, copy, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, image.length);
            this.module = driver.loadModule(copy);
        }
        this.cublas = new Cublas(NativeLibraries.cublas());
    }

    /** The process's GPU, opened on first use; a {@link TinyrtException} with the reason when there is none. */
    public static synchronized CudaDevice get() {
        if (shared != null) {
            return shared;
        }
        if (failure != null) {
            throw failure;
        }
        try {
            CudaDriver driver = new CudaDriver(NativeLibraries.driver());
            driver.init();
            if (driver.deviceCount() == 0) {
                throw new TinyrtException("the NVIDIA driver is installed but reports no CUDA device");
            }
            shared = new CudaDevice(driver, Integer.getInteger("tinyrt.cuda.device", 0));
            return shared;
        } catch (TinyrtException e) {
            failure = new TinyrtException("the CUDA backend cannot start: " + e.getMessage() + "; use --backend cpu",
                    e);
        } catch (CudaException | IllegalStateException | IllegalArgumentException e) {
            failure = new TinyrtException("the CUDA backend cannot start: " + e.getMessage()
                    + "; use --backend cpu", e);
        }
        throw failure;
    }

    /** Why the CUDA backend cannot run here, or empty when it can. */
    public static Optional<String> unavailableReason() {
        try {
            get();
            return Optional.empty();
        } catch (TinyrtException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** Makes the device's context current on the calling thread (once per thread). */
    void makeCurrent() {
        if (!current.get()) {
            driver.setCurrent(context);
            current.set(true);
        }
    }

    MemorySegment function(String kernel) {
        return functions.computeIfAbsent(kernel, k -> driver.function(module, k));
    }

    /**
     * Lets the kernel's launches take {@code bytes} of dynamic shared memory (more than the default 48 KB needs the
     * kernel's limit raised first); once per kernel and size.
     */
    void allowShared(String kernel, int bytes) {
        sharedLimits.compute(kernel, (k, limit) -> {
            if (limit == null || limit < bytes) {
                driver.setMaxDynamicSharedMemory(function(kernel), bytes);
                return bytes;
            }
            return limit;
        });
    }

    /**
     * Blocks of the kernel (with this block size and dynamic shared memory) the whole GPU holds at once: the
     * multiprocessors times cuOccupancyMaxActiveBlocksPerMultiprocessor, at least 1.
     */
    int residentBlocks(String kernel, int blockSize, int sharedBytes) {
        makeCurrent();
        return residentBlocks.computeIfAbsent(kernel + "/" + blockSize + "/" + sharedBytes, key -> multiprocessors
                * Math.max(1, driver.maxActiveBlocksPerMultiprocessor(function(kernel), blockSize, sharedBytes)));
    }

    /** {free, total} device memory in bytes (cuMemGetInfo). */
    public long[] memoryInfo() {
        makeCurrent();
        return driver.memoryInfo();
    }

    public String name() {
        return name;
    }

    public int ordinal() {
        return ordinal;
    }

    /** e.g. 13000 for CUDA 13.0 (cuDriverGetVersion). */
    public int driverVersion() {
        return driverVersion;
    }

    public String computeCapability() {
        return computeMajor + "." + computeMinor;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    public long totalMemory() {
        return totalMemory;
    }

    /** Theoretical DRAM bandwidth from the memory clock and bus width (double data rate), bytes per second. */
    public double peakBandwidth() {
        return 2.0 * memoryClockKhz * 1e3 * memoryBusBits / 8.0;
    }
}
