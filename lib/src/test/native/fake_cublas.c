// A fake cuBLAS (libcublas.so.13) for testing tinyrt's bindings without a GPU: handles are tracked and every
// cublasGemmEx is checked (layout tinyrt uses: C[m, n] = op(A)[m, k] * B[k, n], A transposed, fp16 inputs, 32F
// compute) and handed to the fake driver, which checks it against its allocations and runs it (or records it into
// the graph being captured on the handle's stream), accumulating in fp32 as cuBLAS does.
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

typedef unsigned long long CUdeviceptr;
extern int fake_inside(CUdeviceptr p, unsigned long long bytes);
extern int fake_gemm(void *stream, int m, int n, int k, CUdeviceptr a, int lda, CUdeviceptr b, int ldb,
                     CUdeviceptr c, int ldc, int fp32_out);
typedef struct { void *stream; } Handle;
static long long handles, gemms, invalid;

static int bad(const char *what) { fprintf(stderr, "[fake-cublas] INVALID: %s\n", what); invalid++; return 7; }

int cublasCreate_v2(void **h) { *h = calloc(1, sizeof(Handle)); handles++; return 0; }
int cublasDestroy_v2(void *h) { free(h); handles--; return 0; }
int cublasSetStream_v2(void *h, void *s) {
    if (!h || !s) return bad("cublasSetStream without handle or stream");
    ((Handle *)h)->stream = s;
    return 0;
}
int cublasSetWorkspace_v2(void *h, CUdeviceptr w, unsigned long long n) {
    return fake_inside(w, n) && w % 256 == 0 ? 0 : bad("workspace outside device memory or unaligned");
}
int cublasGemmEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, CUdeviceptr a, int at, int lda,
                 CUdeviceptr b, int bt, int ldb, const float *beta, CUdeviceptr c, int ct, int ldc, int compute, int algo) {
    gemms++;
    if (ta != 1 || tb != 0) return bad("gemm: tinyrt multiplies by the transposed weight (T, N)");
    if (at != 2 || bt != 2 || (ct != 2 && ct != 0) || compute != 68) return bad("gemm: types");
    if (*alpha != 1.0f || *beta != 0.0f) return bad("gemm: alpha/beta");
    if (lda < k || ldb < k || ldc < m) return bad("gemm: leading dimensions");
    if (!((Handle *)h)->stream) return bad("gemm before cublasSetStream");
    if (fake_gemm(((Handle *)h)->stream, m, n, k, a, lda, b, ldb, c, ldc, ct == 0)) return bad("gemm rejected");
    return 0;
}
const char *cublasGetStatusName(int s) { return s ? "CUBLAS_STATUS_FAKE_REJECTED" : "CUBLAS_STATUS_SUCCESS"; }
const char *cublasGetStatusString(int s) { return s ? "rejected by the fake cuBLAS" : "success"; }
int fake_cublas_report(char *buf, int len) {
    return snprintf(buf, len, "cublas_handles=%lld gemms=%lld cublas_invalid=%lld", handles, gemms, invalid);
}
