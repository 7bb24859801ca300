package dev.tinyrt.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Downcalls into cuBLAS (v2 API) for the prefill GEMMs: fp16 inputs, fp32 accumulation (CUBLAS_COMPUTE_32F), fp16 or
 * fp32 output. A failing call throws {@link CudaException} with cublasGetStatusName/String's text.
 */
@SuppressWarnings("restricted")  // FFM downcalls are the point of this class
final class Cublas {
    static final int OP_N = 0;
    static final int OP_T = 1;
    static final int R_32F = 0;
    static final int R_16F = 2;
    static final int COMPUTE_32F = 68;
    static final int GEMM_DEFAULT = -1;

    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle setWorkspace;
    private final MethodHandle gemmEx;
    private final MethodHandle statusName;
    private final MethodHandle statusString;
    /** alpha = 1 and beta = 0 as host scalars (the default pointer mode), read when a call is enqueued. */
    private final MemorySegment one;
    private final MemorySegment zero;

    Cublas(SymbolLookup lib) {
        create = fn(lib, "cublasCreate_v2", ADDRESS);
        destroy = fn(lib, "cublasDestroy_v2", ADDRESS);
        setStream = fn(lib, "cublasSetStream_v2", ADDRESS, ADDRESS);
        setWorkspace = fn(lib, "cublasSetWorkspace_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        gemmEx = fn(lib, "cublasGemmEx", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT);
        statusName = Linker.nativeLinker().downcallHandle(lib.find("cublasGetStatusName").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        statusString = Linker.nativeLinker().downcallHandle(lib.find("cublasGetStatusString").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        one = Arena.global().allocate(JAVA_FLOAT);
        one.set(JAVA_FLOAT, 0, 1f);
        zero = Arena.global().allocate(JAVA_FLOAT);
        zero.set(JAVA_FLOAT, 0, 0f);
    }

    private static MethodHandle fn(SymbolLookup lib, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(
                () -> new IllegalStateException("cuBLAS has no " + name + ": cuBLAS 12 or 13 is needed"));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    private void check(String call, int status) {
        if (status != 0) {
            throw new CudaException(call, status, text(statusName, status), text(statusString, status));
        }
    }

    private static String text(MethodHandle h, int status) {
        try {
            MemorySegment s = (MemorySegment) h.invokeExact(status);
            return s.equals(MemorySegment.NULL) ? "status " + status : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "status " + status;
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

    MemorySegment createHandle() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cublasCreate_v2", (int) create.invokeExact(out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyHandle(MemorySegment handle) {
        try {
            check("cublasDestroy_v2", (int) destroy.invokeExact(handle));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setStream(MemorySegment handle, MemorySegment stream) {
        try {
            check("cublasSetStream_v2", (int) setStream.invokeExact(handle, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A workspace of our own, so cuBLAS never allocates (required while a CUDA graph is being captured). */
    void setWorkspace(MemorySegment handle, long pointer, long bytes) {
        try {
            check("cublasSetWorkspace_v2", (int) setWorkspace.invokeExact(handle, pointer, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Row-major {@code out[n, m] = x[n, k] · w[m, k]ᵀ}. In cuBLAS's column-major view out is an m x n matrix with
     * leading dimension m, w is k x m (lda k, transposed) and x is k x n (ldb k).
     */
    void linear(MemorySegment handle, long w, long x, long out, boolean fp32Out, int n, int m, int k) {
        try {
            int status = (int) gemmEx.invokeExact(handle, OP_T, OP_N, m, n, k, one, w, R_16F, k, x, R_16F, k, zero,
                    out, fp32Out ? R_32F : R_16F, m, COMPUTE_32F, GEMM_DEFAULT);
            if (status != 0) {
                check("cublasGemmEx(m=" + m + ", n=" + n + ", k=" + k + ")", status);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
