// Bandwidth-bound matrix-vector products for decode: out[t, r] = sum_c x[t, c] * w[r, c] for up to 8 token rows t.
// One warp per weight row, eight rows per 256-thread block; every lane keeps eight 16-byte weight loads in flight and
// reuses each loaded weight vector for all NT token rows, so the weights are read from memory exactly once.
// Requires k % 8 == 0 and 16-byte aligned rows (the host checks and falls back to cuBLAS otherwise).
#pragma once
#include "common.cuh"

#define GEMV_THREADS 256
#define GEMV_UNROLL 8

// x [NT, k] is small and read through L1 by every warp of the block.
template <int NT, typename TOut>
DEV void gemv_body(const __half* __restrict__ w, const __half* __restrict__ x, TOut* __restrict__ out, int m, int k) {
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
                    unpack8(load_cached(x + (size_t)t * k + (size_t)c * 8), xf);
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

// The gate|up product with SwiGLU in its epilogue: w is the fused [2 * inner, k] weight (gate rows, then up rows);
// warp i computes gate row i and up row inner + i together (16 loads in flight per lane) and writes
// act[t, i] = silu(gate) * up, rounded to fp16 once. act [NT, inner].
template <int NT>
DEV void gemv_gate_up_body(const __half* __restrict__ w, const __half* __restrict__ x, __half* __restrict__ act,
                           int inner, int k) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int row = blockIdx.x * (GEMV_THREADS / 32) + warp;
    if (row >= inner) return;  // uniform per warp
    const uint4* wg = reinterpret_cast<const uint4*>(w + (size_t)row * k);
    const uint4* wu = reinterpret_cast<const uint4*>(w + (size_t)(inner + row) * k);
    int chunks = k >> 3;
    float ag[NT], au[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) ag[t] = au[t] = 0.f;
    for (int base = lane; base < chunks; base += 32 * GEMV_UNROLL) {
        uint4 g4[GEMV_UNROLL], u4[GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int c = base + 32 * u;
            g4[u] = c < chunks ? load_streaming(wg + c) : make_uint4(0u, 0u, 0u, 0u);
            u4[u] = c < chunks ? load_streaming(wu + c) : make_uint4(0u, 0u, 0u, 0u);
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int c = base + 32 * u;
            if (c < chunks) {
                float gf[8], uf[8];
                unpack8(g4[u], gf);
                unpack8(u4[u], uf);
#pragma unroll
                for (int t = 0; t < NT; t++) {
                    float xf[8];
                    unpack8(load_cached(x + (size_t)t * k + (size_t)c * 8), xf);
#pragma unroll
                    for (int e = 0; e < 8; e++) {
                        ag[t] = fmaf(gf[e], xf[e], ag[t]);
                        au[t] = fmaf(uf[e], xf[e], au[t]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < NT; t++) {
        ag[t] = warp_sum(ag[t]);
        au[t] = warp_sum(au[t]);
    }
    if (lane == 0) {
#pragma unroll
        for (int t = 0; t < NT; t++) act[(size_t)t * inner + row] = __float2half_rn(silu(ag[t]) * au[t]);
    }
}

#define GEMV_KERNELS(NT)                                                                                              \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_n##NT##_f16(                               \
        const __half* w, const __half* x, __half* out, int m, int k) { PDL_PROLOGUE;  gemv_body<NT, __half>(w, x, out, m, k); }     \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_n##NT##_f32(                               \
        const __half* w, const __half* x, float* out, int m, int k) { PDL_PROLOGUE;  gemv_body<NT, float>(w, x, out, m, k); }       \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_gate_up_n##NT(                             \
        const __half* w, const __half* x, __half* act, int inner, int k) { PDL_PROLOGUE; gemv_gate_up_body<NT>(w, x, act, inner, k); }

GEMV_KERNELS(1)
GEMV_KERNELS(2)
GEMV_KERNELS(3)
GEMV_KERNELS(4)
GEMV_KERNELS(5)
GEMV_KERNELS(6)
GEMV_KERNELS(7)
GEMV_KERNELS(8)
