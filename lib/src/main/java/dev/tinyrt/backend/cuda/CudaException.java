package dev.tinyrt.backend.cuda;

/**
 * A CUDA driver or cuBLAS call that returned an error. The message names the call and carries CUDA's own error
 * name and description, e.g. {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory}.
 */
public final class CudaException extends RuntimeException {
    private final String call;
    private final int code;

    public CudaException(String call, int code, String name, String description) {
        super(call + " failed: " + name + " (" + code + "): " + description);
        this.call = call;
        this.code = code;
    }

    /** The API function that failed. */
    public String call() {
        return call;
    }

    /** The CUresult or cublasStatus_t value. */
    public int code() {
        return code;
    }
}
