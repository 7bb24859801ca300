// RMSNorm, alone and fused with the residual add that precedes it at every block boundary.
// One block per row; the row's values are reread from global memory (L1/L2-resident) instead of registers so any
// hidden size works.
#pragma once
#include "common.cuh"

// out = x / sqrt(mean(x^2) + eps) * gamma, as the CPU backend computes it (fp32 throughout).
template <typename TIn>
DEV void rms_norm_body(const TIn* __restrict__ x, const __half* __restrict__ gamma, float eps,
                       __half* __restrict__ out, int cols) {
    __shared__ float scratch[32];
    const TIn* in = x + (size_t)blockIdx.x * cols;
    __half* dst = out + (size_t)blockIdx.x * cols;
    float ss = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float v = to_f32(in[c]);
        ss += v * v;
    }
    float scale = rsqrtf(block_sum(ss, scratch) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        dst[c] = __float2half_rn(__half2float(gamma[c]) * (to_f32(in[c]) * scale));
}

extern "C" __global__ void tinyrt_rms_norm_f16(const __half* x, const __half* gamma, float eps, __half* out, int cols) { PDL_PROLOGUE;
    rms_norm_body(x, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_rms_norm_f32(const float* x, const __half* gamma, float eps, __half* out, int cols) { PDL_PROLOGUE;
    rms_norm_body(x, gamma, eps, out, cols);
}

// residual += delta; out = rmsNorm(residual) * gamma. Each thread rereads only the elements it wrote itself.
template <typename TRes>
DEV void add_rms_norm_body(TRes* __restrict__ residual, const __half* __restrict__ delta,
                           const __half* __restrict__ gamma, float eps, __half* __restrict__ out, int cols) {
    __shared__ float scratch[32];
    TRes* res = residual + (size_t)blockIdx.x * cols;
    const __half* d = delta + (size_t)blockIdx.x * cols;
    __half* dst = out + (size_t)blockIdx.x * cols;
    float ss = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        TRes r = from_f32<TRes>(to_f32(res[c]) + __half2float(d[c]));
        res[c] = r;
        float v = to_f32(r);
        ss += v * v;
    }
    float scale = rsqrtf(block_sum(ss, scratch) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        dst[c] = __float2half_rn(__half2float(gamma[c]) * (to_f32(res[c]) * scale));
}

extern "C" __global__ void tinyrt_add_rms_norm_f16(__half* residual, const __half* delta, const __half* gamma, float eps,
                                                   __half* out, int cols) { PDL_PROLOGUE;
    add_rms_norm_body(residual, delta, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_add_rms_norm_f32(float* residual, const __half* delta, const __half* gamma, float eps,
                                                   __half* out, int cols) { PDL_PROLOGUE;
    add_rms_norm_body(residual, delta, gamma, eps, out, cols);
}

// The same two ops for the common case (cols % 8 == 0, cols <= 16 * blockDim): every thread loads its two 8-element
// chunks (residual, delta and gain together) up front and keeps them in registers, so a row costs one round trip
// to memory and one block reduction. grid: rows, block: ceil(cols / 16) rounded up to a warp.
#define NORM_CHUNKS_PER_THREAD 2

DEV void load8(const float* p, float* v) {
    float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}
DEV void load8(const __half* p, float* v) { unpack8(*reinterpret_cast<const uint4*>(p), v); }
DEV void store8(float* p, float* v) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    *reinterpret_cast<float4*>(p + 4) = make_float4(v[4], v[5], v[6], v[7]);
}
DEV void store8(__half* p, float* v) {
    *reinterpret_cast<uint4*>(p) = pack8(v);
    unpack8(pack8(v), v);  // the norm uses the stored (rounded) residual, as the generic kernel does
}

template <typename TRes, bool ADD>
DEV void norm_v8_body(TRes* __restrict__ residual, const __half* __restrict__ delta, const __half* __restrict__ gamma,
                      float eps, __half* __restrict__ out, int cols) {
    __shared__ float scratch[32];
    constexpr int CPT = NORM_CHUNKS_PER_THREAD;
    int chunks = cols / 8;
    TRes* res = residual + (size_t)blockIdx.x * cols;
    const __half* d = ADD ? delta + (size_t)blockIdx.x * cols : nullptr;
    float v[CPT][8], g[CPT][8];
    float ss = 0.f;
#pragma unroll
    for (int u = 0; u < CPT; u++) {
        int c = threadIdx.x + u * blockDim.x;
        if (c < chunks) {
            load8(res + c * 8, v[u]);
            load8(gamma + c * 8, g[u]);
            if (ADD) {
                float dv[8];
                load8(d + c * 8, dv);
#pragma unroll
                for (int e = 0; e < 8; e++) v[u][e] += dv[e];
                store8(res + c * 8, v[u]);
            }
#pragma unroll
            for (int e = 0; e < 8; e++) ss += v[u][e] * v[u][e];
        }
    }
    float scale = rsqrtf(block_sum(ss, scratch) / cols + eps);
#pragma unroll
    for (int u = 0; u < CPT; u++) {
        int c = threadIdx.x + u * blockDim.x;
        if (c < chunks) {
            float o[8];
#pragma unroll
            for (int e = 0; e < 8; e++) o[e] = g[u][e] * (v[u][e] * scale);
            *reinterpret_cast<uint4*>(out + (size_t)blockIdx.x * cols + c * 8) = pack8(o);
        }
    }
}

extern "C" __global__ void tinyrt_rms_norm_v8_f16(const __half* x, const __half* gamma, float eps, __half* out,
                                                  int cols) { PDL_PROLOGUE;
    norm_v8_body<__half, false>(const_cast<__half*>(x), nullptr, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_rms_norm_v8_f32(const float* x, const __half* gamma, float eps, __half* out,
                                                  int cols) { PDL_PROLOGUE;
    norm_v8_body<float, false>(const_cast<float*>(x), nullptr, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_add_rms_norm_v8_f16(__half* residual, const __half* delta, const __half* gamma,
                                                      float eps, __half* out, int cols) { PDL_PROLOGUE;
    norm_v8_body<__half, true>(residual, delta, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_add_rms_norm_v8_f32(float* residual, const __half* delta, const __half* gamma,
                                                      float eps, __half* out, int cols) { PDL_PROLOGUE;
    norm_v8_body<float, true>(residual, delta, gamma, eps, out, cols);
}
