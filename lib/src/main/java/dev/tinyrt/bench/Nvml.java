package dev.tinyrt.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Device memory and identity from NVIDIA's management library (libnvidia-ml.so.1, shipped with the driver),
 * through FFM. NVML needs no CUDA context, so a sampler thread can poll it while the engine runs. Absent on a
 * machine without an NVIDIA driver: {@link #open()} is then empty.
 */
@SuppressWarnings("restricted")  // FFM downcalls into the driver library; needs --enable-native-access
public final class Nvml implements AutoCloseable {
    private static final int SUCCESS = 0;
    private final Arena arena;
    private final MethodHandle memoryInfo;
    private final MemorySegment device;
    private final GpuInfo info;
    private final MethodHandle shutdown;

    private Nvml(Arena arena, MethodHandle memoryInfo, MemorySegment device, GpuInfo info, MethodHandle shutdown) {
        this.arena = arena;
        this.memoryInfo = memoryInfo;
        this.device = device;
        this.info = info;
        this.shutdown = shutdown;
    }

    /** NVML for GPU {@code index}, or empty when there is no driver or no such GPU. */
    public static Optional<Nvml> open(int index) {
        Arena arena = Arena.ofShared();
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup("libnvidia-ml.so.1", arena);
            Linker linker = Linker.nativeLinker();
            MethodHandle init = handle(linker, lib, "nvmlInit_v2", FunctionDescriptor.of(JAVA_INT));
            if ((int) init.invokeExact() != SUCCESS) {
                arena.close();
                return Optional.empty();
            }
            MethodHandle shutdown = handle(linker, lib, "nvmlShutdown", FunctionDescriptor.of(JAVA_INT));
            MethodHandle byIndex = handle(linker, lib, "nvmlDeviceGetHandleByIndex_v2",
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
            MemorySegment slot = arena.allocate(ADDRESS);
            if ((int) byIndex.invokeExact(index, slot) != SUCCESS) {
                int ignored = (int) shutdown.invokeExact();
                arena.close();
                return Optional.empty();
            }
            MemorySegment device = slot.get(ADDRESS, 0);
            MethodHandle memory = handle(linker, lib, "nvmlDeviceGetMemoryInfo",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
            MethodHandle name = handle(linker, lib, "nvmlDeviceGetName",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            MethodHandle driver = handle(linker, lib, "nvmlSystemGetDriverVersion",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            MethodHandle cuda = handle(linker, lib, "nvmlSystemGetCudaDriverVersion_v2",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS));
            MemorySegment text = arena.allocate(256);
            String gpuName = (int) name.invokeExact(device, text, 256) == SUCCESS ? cString(text) : "unknown GPU";
            String driverVersion = (int) driver.invokeExact(text, 256) == SUCCESS ? cString(text) : "unknown";
            MemorySegment version = arena.allocate(JAVA_INT);
            String cudaVersion = (int) cuda.invokeExact(version) == SUCCESS
                    ? version.get(JAVA_INT, 0) / 1000 + "." + version.get(JAVA_INT, 0) % 1000 / 10 : "unknown";
            long total = memory(memory, device)[0];
            return Optional.of(new Nvml(arena, memory, device,
                    new GpuInfo(gpuName, driverVersion, cudaVersion, total), shutdown));
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            arena.close();  // no libnvidia-ml on this machine
            return Optional.empty();
        } catch (Throwable t) {
            arena.close();
            throw new IllegalStateException("NVML call failed", t);
        }
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name, FunctionDescriptor fd) {
        return linker.downcallHandle(lib.find(name).orElseThrow(
                () -> new IllegalArgumentException("libnvidia-ml lacks " + name)), fd);
    }

    private static String cString(MemorySegment s) {
        return s.getString(0, StandardCharsets.UTF_8).trim();
    }

    public GpuInfo info() {
        return info;
    }

    /** Device memory in use, all processes together (nvmlMemory_t.used). */
    public long usedBytes() {
        return memory(memoryInfo, device)[2];
    }

    /** {total, free, used} in bytes. */
    private static long[] memory(MethodHandle memoryInfo, MemorySegment device) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment m = call.allocate(3 * JAVA_LONG.byteSize(), 8);
            int rc = (int) memoryInfo.invokeExact(device, m);
            if (rc != SUCCESS) {
                throw new IllegalStateException("nvmlDeviceGetMemoryInfo returned " + rc);
            }
            return new long[]{m.get(JAVA_LONG, 0), m.get(JAVA_LONG, 8), m.get(JAVA_LONG, 16)};
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("nvmlDeviceGetMemoryInfo failed", t);
        }
    }

    @Override
    public void close() {
        try {
            int ignored = (int) shutdown.invokeExact();
        } catch (Throwable t) {
            // shutting down: nothing to do
        }
        arena.close();
    }
}
