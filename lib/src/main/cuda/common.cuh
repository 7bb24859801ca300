// Shared helpers for tinyrt's kernels: fp16/fp32 conversion, warp and block reductions, 16-byte loads.
// Activations and weights are fp16 (__half); every kernel accumulates in fp32.
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>

#define DEV __device__ __forceinline__

// Dynamic shared memory of a block (the launch's sharedBytes). A macro so the kernels can also be compiled for the
// host by the test emulator (lib/src/test/native), which defines it before including this file.
#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif

template <typename T> DEV float to_f32(T v);
template <> DEV float to_f32<float>(float v) { return v; }
template <> DEV float to_f32<__half>(__half v) { return __half2float(v); }

template <typename T> DEV T from_f32(float v);
template <> DEV float from_f32<float>(float v) { return v; }
template <> DEV __half from_f32<__half>(float v) { return __float2half_rn(v); }

DEV float warp_sum(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

DEV float warp_max(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Sum over the whole block; every thread gets the result. `scratch` holds one float per warp (32 is enough).
DEV float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < warps; w++) total += scratch[w];
    return total;
}

// Eight fp16 values in one 16-byte vector, widened to fp32. Bit operations rather than pointer casts, so no
// compiler may assume the uint4 and the halves do not alias.
DEV void unpack8(const uint4& raw, float* out) {
    unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        out[2 * i] = __half2float(__ushort_as_half(static_cast<unsigned short>(words[i] & 0xffffu)));
        out[2 * i + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(words[i] >> 16)));
    }
}

DEV unsigned pack2(float lo, float hi) {
    return static_cast<unsigned>(__half_as_ushort(__float2half_rn(lo)))
           | (static_cast<unsigned>(__half_as_ushort(__float2half_rn(hi))) << 16);
}

DEV uint4 pack8(const float* in) {
    return make_uint4(pack2(in[0], in[1]), pack2(in[2], in[3]), pack2(in[4], in[5]), pack2(in[6], in[7]));
}

// FP8 e4m3 to fp32, exact for every code (the KV cache's fp8 and the software path of fp8 weights share it): the
// sign-extended byte shifted left by 20 puts sign, exponent and mantissa in fp32 position; 2^120 rebiases the
// exponent (and makes subnormals exact); the NaN codes (S.1111.111, never stored from finite values) stay NaN.
DEV float e4m3_to_float(unsigned b) {
    unsigned bits = static_cast<unsigned>(static_cast<int>(static_cast<signed char>(b))) << 20;
    float v = __uint_as_float(bits & 0x87F00000u) * 0x1p120f;
    return (b & 0x7fu) == 0x7fu ? __uint_as_float(0x7fc00000u) : v;
}

// Weights are read exactly once per step: stream them past L1 so activations stay cached there.
DEV uint4 load_streaming(const void* p) {
#ifdef __CUDA_ARCH__
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
#else  // host compilation by the test emulator
    return *reinterpret_cast<const uint4*>(p);
#endif
}

DEV uint4 load_cached(const void* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

DEV float silu(float x) { return x / (1.0f + expf(-x)); }

// Programmatic dependent launch (Hopper): every kernel lets the next one in the stream be scheduled as soon as all
// its own blocks are running, and waits for the previous one to finish before touching memory. Launched without the
// PDL attribute (or before sm_90) both are no-ops. Every kernel starts with PDL_PROLOGUE.
DEV void pdl_prologue() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
#define PDL_PROLOGUE pdl_prologue()
