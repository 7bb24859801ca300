package dev.tinyrt.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls into the CUDA driver API (libcuda.so.1) through FFM. Each method checks the CUresult and throws a
 * {@link CudaException} naming the call with cuGetErrorName/cuGetErrorString's text. Versioned entry points are the
 * ones cuda.h 13 maps the plain names to (cuMemAlloc -> cuMemAlloc_v2, cuEventElapsedTime -> _v2, ...). Device
 * pointers are {@code long}s (CUdeviceptr); handles (context, module, function, stream, event, graph) are
 * {@link MemorySegment} addresses.
 */
@SuppressWarnings("restricted")  // FFM downcalls are the point of this class
final class CudaDriver {
    static final int CU_STREAM_NON_BLOCKING = 1;
    static final int CU_STREAM_CAPTURE_MODE_RELAXED = 2;
    static final int ATTR_CLOCK_RATE = 13;
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_MEMORY_CLOCK_RATE = 36;
    static final int ATTR_GLOBAL_MEMORY_BUS_WIDTH = 37;
    static final int ATTR_L2_CACHE_SIZE = 38;
    static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    static final int FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private final MethodHandle getErrorName;
    private final MethodHandle getErrorString;
    private final MethodHandle init;
    private final MethodHandle driverGetVersion;
    private final MethodHandle deviceGetCount;
    private final MethodHandle deviceGet;
    private final MethodHandle deviceGetName;
    private final MethodHandle deviceGetAttribute;
    private final MethodHandle deviceTotalMem;
    private final MethodHandle primaryCtxRetain;
    private final MethodHandle ctxSetCurrent;
    private final MethodHandle ctxSynchronize;
    private final MethodHandle moduleLoadData;
    private final MethodHandle moduleGetFunction;
    private final MethodHandle funcSetAttribute;
    private final MethodHandle occupancyMaxActiveBlocks;
    private final MethodHandle memGetInfo;
    private final MethodHandle memAlloc;
    private final MethodHandle memFree;
    private final MethodHandle memAllocHost;
    private final MethodHandle memFreeHost;
    private final MethodHandle memcpyHtoD;
    private final MethodHandle memcpyHtoDAsync;
    private final MethodHandle memcpyDtoHAsync;
    private final MethodHandle memcpyDtoDAsync;
    private final MethodHandle memsetD8Async;
    private final MethodHandle streamCreate;
    private final MethodHandle streamDestroy;
    private final MethodHandle streamSynchronize;
    private final MethodHandle streamBeginCapture;
    private final MethodHandle streamEndCapture;
    private final MethodHandle graphInstantiate;
    private final MethodHandle graphLaunch;
    private final MethodHandle graphExecDestroy;
    private final MethodHandle graphDestroy;
    private final MethodHandle eventCreate;
    private final MethodHandle eventRecord;
    private final MethodHandle eventSynchronize;
    private final MethodHandle eventElapsedTime;
    private final MethodHandle eventDestroy;
    private final MethodHandle launchKernel;
    private final MethodHandle launchKernelEx;

    CudaDriver(SymbolLookup lib) {
        getErrorName = fn(lib, "cuGetErrorName", JAVA_INT, ADDRESS);
        getErrorString = fn(lib, "cuGetErrorString", JAVA_INT, ADDRESS);
        init = fn(lib, "cuInit", JAVA_INT);
        driverGetVersion = fn(lib, "cuDriverGetVersion", ADDRESS);
        deviceGetCount = fn(lib, "cuDeviceGetCount", ADDRESS);
        deviceGet = fn(lib, "cuDeviceGet", ADDRESS, JAVA_INT);
        deviceGetName = fn(lib, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        deviceGetAttribute = fn(lib, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        deviceTotalMem = fn(lib, "cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        primaryCtxRetain = fn(lib, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        ctxSetCurrent = fn(lib, "cuCtxSetCurrent", ADDRESS);
        ctxSynchronize = fn(lib, "cuCtxSynchronize");
        moduleLoadData = fn(lib, "cuModuleLoadData", ADDRESS, ADDRESS);
        moduleGetFunction = fn(lib, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        funcSetAttribute = fn(lib, "cuFuncSetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        occupancyMaxActiveBlocks = fn(lib, "cuOccupancyMaxActiveBlocksPerMultiprocessor", ADDRESS, ADDRESS, JAVA_INT,
                JAVA_LONG);
        memGetInfo = fn(lib, "cuMemGetInfo_v2", ADDRESS, ADDRESS);
        memAlloc = fn(lib, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        memFree = fn(lib, "cuMemFree_v2", JAVA_LONG);
        memAllocHost = fn(lib, "cuMemAllocHost_v2", ADDRESS, JAVA_LONG);
        memFreeHost = fn(lib, "cuMemFreeHost", ADDRESS);
        memcpyHtoD = fn(lib, "cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
        memcpyHtoDAsync = fn(lib, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        memcpyDtoHAsync = fn(lib, "cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        memcpyDtoDAsync = fn(lib, "cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        memsetD8Async = fn(lib, "cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS);
        streamCreate = fn(lib, "cuStreamCreate", ADDRESS, JAVA_INT);
        streamDestroy = fn(lib, "cuStreamDestroy_v2", ADDRESS);
        streamSynchronize = fn(lib, "cuStreamSynchronize", ADDRESS);
        streamBeginCapture = fn(lib, "cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
        streamEndCapture = fn(lib, "cuStreamEndCapture", ADDRESS, ADDRESS);
        graphInstantiate = fn(lib, "cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
        graphLaunch = fn(lib, "cuGraphLaunch", ADDRESS, ADDRESS);
        graphExecDestroy = fn(lib, "cuGraphExecDestroy", ADDRESS);
        graphDestroy = fn(lib, "cuGraphDestroy", ADDRESS);
        eventCreate = fn(lib, "cuEventCreate", ADDRESS, JAVA_INT);
        eventRecord = fn(lib, "cuEventRecord", ADDRESS, ADDRESS);
        eventSynchronize = fn(lib, "cuEventSynchronize", ADDRESS);
        // cuda.h 12.8+ maps cuEventElapsedTime to _v2; older drivers have only the original (same signature)
        eventElapsedTime = fn(lib, lib.find("cuEventElapsedTime_v2").isPresent() ? "cuEventElapsedTime_v2"
                : "cuEventElapsedTime", ADDRESS, ADDRESS, ADDRESS);
        eventDestroy = fn(lib, "cuEventDestroy_v2", ADDRESS);
        launchKernel = fn(lib, "cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        launchKernelEx = fn(lib, "cuLaunchKernelEx", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    }

    private static MethodHandle fn(SymbolLookup lib, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(
                () -> new IllegalStateException("the CUDA driver has no " + name + ": driver too old for CUDA 12/13"));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    // ---- errors -------------------------------------------------------------------------------------------------

    void check(String call, int result) {
        if (result != 0) {
            throw new CudaException(call, result, errorText(getErrorName, result, "CUDA_ERROR_" + result),
                    errorText(getErrorString, result, "unknown error"));
        }
    }

    private static String errorText(MethodHandle h, int code, String fallback) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int r = (int) h.invokeExact(code, p);
            MemorySegment s = p.get(ADDRESS, 0);
            return r != 0 || s.equals(MemorySegment.NULL) ? fallback : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return fallback;
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    // ---- device and context -------------------------------------------------------------------------------------

    void init() {
        try {
            check("cuInit", (int) init.invokeExact(0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDriverGetVersion", (int) driverGetVersion.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetCount", (int) deviceGetCount.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGet", (int) deviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", (int) deviceGetName.invokeExact(out, 256, device));
            return out.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int attribute(int device, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", (int) deviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long totalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDeviceTotalMem_v2", (int) deviceTotalMem.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment retainPrimaryContext(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuDevicePrimaryCtxRetain", (int) primaryCtxRetain.invokeExact(out, device));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setCurrent(MemorySegment context) {
        try {
            check("cuCtxSetCurrent", (int) ctxSetCurrent.invokeExact(context));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void synchronizeContext() {
        try {
            check("cuCtxSynchronize", (int) ctxSynchronize.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- modules ------------------------------------------------------------------------------------------------

    MemorySegment loadModule(MemorySegment image) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuModuleLoadData", (int) moduleLoadData.invokeExact(out, image));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuModuleGetFunction(" + name + ")",
                    (int) moduleGetFunction.invokeExact(out, module, a.allocateFrom(name)));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setMaxDynamicSharedMemory(MemorySegment function, int bytes) {
        try {
            check("cuFuncSetAttribute", (int) funcSetAttribute.invokeExact(function,
                    FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Blocks of {@code blockSize} threads and {@code sharedBytes} dynamic shared memory one multiprocessor holds. */
    int maxActiveBlocksPerMultiprocessor(MemorySegment function, int blockSize, int sharedBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuOccupancyMaxActiveBlocksPerMultiprocessor", (int) occupancyMaxActiveBlocks.invokeExact(out,
                    function, blockSize, (long) sharedBytes));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- memory -------------------------------------------------------------------------------------------------

    /** {free, total} device memory in bytes. */
    long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            check("cuMemGetInfo_v2", (int) memGetInfo.invokeExact(free, total));
            return new long[]{free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long malloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuMemAlloc_v2(" + bytes + " bytes)", (int) memAlloc.invokeExact(out, bytes));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void free(long pointer) {
        try {
            check("cuMemFree_v2", (int) memFree.invokeExact(pointer));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment mallocHost(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuMemAllocHost_v2(" + bytes + " bytes)", (int) memAllocHost.invokeExact(out, bytes));
            return out.get(ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void freeHost(MemorySegment pointer) {
        try {
            check("cuMemFreeHost", (int) memFreeHost.invokeExact(pointer));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Synchronous copy from any native host memory (pageable memory is staged by the driver). */
    void copyToDevice(long dst, MemorySegment src, long bytes) {
        try {
            check("cuMemcpyHtoD_v2", (int) memcpyHtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyToDeviceAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyHtoDAsync_v2", (int) memcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyToHostAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoHAsync_v2", (int) memcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void copyDeviceAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoDAsync_v2", (int) memcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void memsetAsync(long dst, byte value, long bytes, MemorySegment stream) {
        try {
            check("cuMemsetD8Async", (int) memsetD8Async.invokeExact(dst, value, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- streams, graphs, events --------------------------------------------------------------------------------

    MemorySegment createStream() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuStreamCreate", (int) streamCreate.invokeExact(out, CU_STREAM_NON_BLOCKING));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyStream(MemorySegment stream) {
        try {
            check("cuStreamDestroy_v2", (int) streamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void synchronize(MemorySegment stream) {
        try {
            check("cuStreamSynchronize", (int) streamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void beginCapture(MemorySegment stream) {
        try {
            check("cuStreamBeginCapture_v2",
                    (int) streamBeginCapture.invokeExact(stream, CU_STREAM_CAPTURE_MODE_RELAXED));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Ends a capture and returns the graph (NULL when the capture was invalidated). */
    MemorySegment endCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuStreamEndCapture", (int) streamEndCapture.invokeExact(stream, out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Ends a capture after a failure, discarding whatever was recorded; never throws. */
    void abandonCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int ignored = (int) streamEndCapture.invokeExact(stream, out);
            MemorySegment graph = out.get(ADDRESS, 0);
            if (!graph.equals(MemorySegment.NULL)) {
                ignored = (int) graphDestroy.invokeExact(graph);
            }
        } catch (Throwable t) {
            // best effort: the original failure is what matters
        }
    }

    MemorySegment instantiate(MemorySegment graph) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuGraphInstantiateWithFlags", (int) graphInstantiate.invokeExact(out, graph, 0L));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void launchGraph(MemorySegment exec, MemorySegment stream) {
        try {
            check("cuGraphLaunch", (int) graphLaunch.invokeExact(exec, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyGraphExec(MemorySegment exec) {
        try {
            check("cuGraphExecDestroy", (int) graphExecDestroy.invokeExact(exec));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyGraph(MemorySegment graph) {
        try {
            check("cuGraphDestroy", (int) graphDestroy.invokeExact(graph));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment createEvent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuEventCreate", (int) eventCreate.invokeExact(out, 0));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void record(MemorySegment event, MemorySegment stream) {
        try {
            check("cuEventRecord", (int) eventRecord.invokeExact(event, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void synchronizeEvent(MemorySegment event) {
        try {
            check("cuEventSynchronize", (int) eventSynchronize.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Milliseconds between two completed events. */
    float elapsedMs(MemorySegment start, MemorySegment end, MemorySegment scratch) {
        try {
            check("cuEventElapsedTime_v2", (int) eventElapsedTime.invokeExact(scratch, start, end));
            return scratch.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyEvent(MemorySegment event) {
        try {
            check("cuEventDestroy_v2", (int) eventDestroy.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** cuLaunchKernelEx with a filled {@link LaunchConfig} (launch attributes such as programmatic serialization). */
    void launch(String name, MemorySegment function, LaunchConfig config, MemorySegment params) {
        try {
            int r = (int) launchKernelEx.invokeExact(config.segment(), function, params, MemorySegment.NULL);
            if (r != 0) {
                check("cuLaunchKernelEx(" + name + ", " + config + ")", r);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void launch(String name, MemorySegment function, int gridX, int gridY, int gridZ, int block, int sharedBytes,
                MemorySegment stream, MemorySegment params) {
        try {
            int r = (int) launchKernel.invokeExact(function, gridX, gridY, gridZ, block, 1, 1, sharedBytes, stream,
                    params, MemorySegment.NULL);
            if (r != 0) {
                check("cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + block
                        + ", shared " + sharedBytes + ")", r);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
