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

extern "C" __global__ void tinyrt_rms_norm_f16(const __half* x, const __half* gamma, float eps, __half* out, int cols) {
    rms_norm_body(x, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_rms_norm_f32(const float* x, const __half* gamma, float eps, __half* out, int cols) {
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
                                                   __half* out, int cols) {
    add_rms_norm_body(residual, delta, gamma, eps, out, cols);
}
extern "C" __global__ void tinyrt_add_rms_norm_f32(float* residual, const __half* delta, const __half* gamma, float eps,
                                                   __half* out, int cols) {
    add_rms_norm_body(residual, delta, gamma, eps, out, cols);
}
