// Bandwidth-bound matrix-vector products for decode: out[t, r] = sum_c x[t, c] * w[r, c] for up to 8 token rows t.
// One warp per weight row, eight rows per 256-thread block; every lane keeps eight 16-byte weight loads in flight and
// reuses each loaded weight vector for all NT token rows, so the weights are read from memory exactly once.
// Requires k % 8 == 0 and 16-byte aligned rows (the host checks and falls back to cuBLAS otherwise).
#pragma once
#include "common.cuh"

#define GEMV_THREADS 256
#define GEMV_UNROLL 8

// x rows have stride x_stride halves (SWIGLU: x is in shared memory, already activated).
template <int NT, typename TOut>
DEV void gemv_rows(const __half* __restrict__ w, const __half* x, int x_stride, TOut* __restrict__ out, int m, int k) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int row = blockIdx.x * (GEMV_THREADS / 32) + warp;
    if (row >= m) return;  // uniform per warp
    const uint4* wrow = reinterpret_cast<const uint4*>(w + (size_t)row * k);
    int chunks = k >> 3;
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = 0.f;
    for (int base = lane; base < chunks; base += 32 * GEMV_UNROLL) {
        uint4 wv[GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int c = base + 32 * u;
            wv[u] = c < chunks ? load_streaming(wrow + c) : make_uint4(0u, 0u, 0u, 0u);
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int c = base + 32 * u;
            if (c < chunks) {
                float wf[8];
                unpack8(wv[u], wf);
#pragma unroll
                for (int t = 0; t < NT; t++) {
                    float xf[8];
                    unpack8(*reinterpret_cast<const uint4*>(x + (size_t)t * x_stride + (size_t)c * 8), xf);
#pragma unroll
                    for (int e = 0; e < 8; e++) acc[t] = fmaf(wf[e], xf[e], acc[t]);
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = warp_sum(acc[t]);
    if (lane == 0) {
#pragma unroll
        for (int t = 0; t < NT; t++) out[(size_t)t * m + row] = from_f32<TOut>(acc[t]);
    }
}

// Plain product: x [NT, k] in global memory (small, stays in L1/L2).
template <int NT, typename TOut>
DEV void gemv_body(const __half* __restrict__ w, const __half* __restrict__ x, TOut* __restrict__ out, int m, int k) {
    gemv_rows<NT, TOut>(w, x, k, out, m, k);
}

// SwiGLU fused into the down projection: x = silu(gate_up[:, :k]) * gate_up[:, k:], computed once per block into
// shared memory (NT * k halves of dynamic shared memory), then the same product.
template <int NT>
DEV void gemv_swiglu_body(const __half* __restrict__ w, const __half* __restrict__ gate_up, __half* __restrict__ out,
                          int m, int k) {
    DYNAMIC_SHARED(unsigned char, gemv_smem);
    __half* act = reinterpret_cast<__half*>(gemv_smem);
    for (int i = threadIdx.x; i < NT * k; i += GEMV_THREADS) {
        int t = i / k, c = i - t * k;
        const __half* src = gate_up + (size_t)t * 2 * k;
        act[i] = __float2half_rn(silu(__half2float(src[c])) * __half2float(src[k + c]));
    }
    __syncthreads();
    gemv_rows<NT, __half>(w, act, k, out, m, k);
}

#define GEMV_KERNELS(NT)                                                                                              \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_n##NT##_f16(                               \
        const __half* w, const __half* x, __half* out, int m, int k) { gemv_body<NT, __half>(w, x, out, m, k); }     \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_n##NT##_f32(                               \
        const __half* w, const __half* x, float* out, int m, int k) { gemv_body<NT, float>(w, x, out, m, k); }       \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_swiglu_n##NT(                              \
        const __half* w, const __half* gate_up, __half* out, int m, int k) { gemv_swiglu_body<NT>(w, gate_up, out, m, k); }

GEMV_KERNELS(1)
GEMV_KERNELS(2)
GEMV_KERNELS(3)
GEMV_KERNELS(4)
GEMV_KERNELS(5)
GEMV_KERNELS(6)
GEMV_KERNELS(7)
GEMV_KERNELS(8)
