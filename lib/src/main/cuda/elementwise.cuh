// Small row-wise kernels: embedding lookup, residual add, SwiGLU, row gather, weight conversion, greedy argmax.
#pragma once
#include "common.cuh"

// out[i, :] = table[ids[i], :]. grid: rows, block: 256.
template <typename TOut>
DEV void embed_body(const __half* __restrict__ table, const int* __restrict__ ids, TOut* __restrict__ out, int cols) {
    int row = blockIdx.x;
    const __half* src = table + (size_t)ids[row] * cols;
    TOut* dst = out + (size_t)row * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = from_f32<TOut>(__half2float(src[c]));
}

extern "C" __global__ void tinyrt_embed_f16(const __half* table, const int* ids, __half* out, int cols) { PDL_PROLOGUE;
    embed_body<__half>(table, ids, out, cols);
}
extern "C" __global__ void tinyrt_embed_f32(const __half* table, const int* ids, float* out, int cols) { PDL_PROLOGUE;
    embed_body<float>(table, ids, out, cols);
}

// residual[i] += delta[i] over n elements. grid-stride.
template <typename TRes>
DEV void add_body(TRes* __restrict__ residual, const __half* __restrict__ delta, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        residual[i] = from_f32<TRes>(to_f32(residual[i]) + __half2float(delta[i]));
}

extern "C" __global__ void tinyrt_add_f16(__half* residual, const __half* delta, long n) { PDL_PROLOGUE; add_body(residual, delta, n); }
extern "C" __global__ void tinyrt_add_f32(float* residual, const __half* delta, long n) { PDL_PROLOGUE; add_body(residual, delta, n); }

// out[r, i] = silu(gateUp[r, i]) * gateUp[r, inner + i]. grid-stride over rows * inner.
extern "C" __global__ void tinyrt_swiglu(const __half* __restrict__ gate_up, __half* __restrict__ out, int rows, int inner) { PDL_PROLOGUE;
    long n = (long)rows * inner;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        long r = i / inner, c = i % inner;
        const __half* src = gate_up + r * 2 * inner;
        out[i] = __float2half_rn(silu(__half2float(src[c])) * __half2float(src[inner + c]));
    }
}

// out[i, :] = x[rows[i], :]. grid: number of rows gathered, block: 256.
extern "C" __global__ void tinyrt_gather_rows(const __half* __restrict__ x, const int* __restrict__ rows,
                                              __half* __restrict__ out, int cols) { PDL_PROLOGUE;
    const __half* src = x + (size_t)rows[blockIdx.x] * cols;
    __half* dst = out + (size_t)blockIdx.x * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = src[c];
}

// Weight upload: F32 or BF16 checkpoint values to fp16 (round to nearest even). grid-stride.
extern "C" __global__ void tinyrt_f32_to_f16(const float* __restrict__ in, __half* __restrict__ out, long n) { PDL_PROLOGUE;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __float2half_rn(in[i]);
}
extern "C" __global__ void tinyrt_bf16_to_f16(const uint16_t* __restrict__ in, __half* __restrict__ out, long n) { PDL_PROLOGUE;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __float2half_rn(__uint_as_float(((unsigned)in[i]) << 16));
}

// Greedy sampling: ids[r] = first index of the maximum of logits[r, :] (torch.argmax's tie rule).
// grid: rows, block: 1024 (any multiple of 32 up to 1024).
// Where the row is 16-byte aligned (vocab % 4 == 0) a thread reads it 4 floats at a time, ARGMAX_BATCH loads in
// flight before it compares any: 32,000 logits are 7.8 float4 per thread of 1,024, one round trip to memory instead
// of one per few scalar loads.
#define ARGMAX_BATCH 8
extern "C" __global__ void tinyrt_argmax_f32(const float* __restrict__ logits, int* __restrict__ ids, int vocab) { PDL_PROLOGUE;
    __shared__ float best_val[32];
    __shared__ int best_idx[32];
    const float* row = logits + (size_t)blockIdx.x * vocab;
    float v = -INFINITY;
    int idx = 0x7fffffff;
    if (vocab % 4 == 0) {
        const float4* row4 = reinterpret_cast<const float4*>(row);
        int n4 = vocab / 4;
        for (int i0 = threadIdx.x; i0 < n4; i0 += blockDim.x * ARGMAX_BATCH) {
            float4 x[ARGMAX_BATCH];
#pragma unroll
            for (int b = 0; b < ARGMAX_BATCH; b++) {
                int i = i0 + b * blockDim.x;
                x[b] = i < n4 ? row4[i] : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
            }
#pragma unroll
            for (int b = 0; b < ARGMAX_BATCH; b++) {  // ascending indices: the first hit is the lowest index
                int i = 4 * (i0 + b * blockDim.x);
                if (x[b].x > v) { v = x[b].x; idx = i; }
                if (x[b].y > v) { v = x[b].y; idx = i + 1; }
                if (x[b].z > v) { v = x[b].z; idx = i + 2; }
                if (x[b].w > v) { v = x[b].w; idx = i + 3; }
            }
        }
    } else {
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float x = row[i];
            if (x > v) { v = x; idx = i; }  // strided scan: first hit per thread is its lowest index
        }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, offset);
        int oi = __shfl_xor_sync(0xffffffffu, idx, offset);
        if (ov > v || (ov == v && oi < idx)) { v = ov; idx = oi; }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    if (lane == 0) { best_val[warp] = v; best_idx[warp] = idx; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < warps; w++) {
            if (best_val[w] > v || (best_val[w] == v && best_idx[w] < idx)) { v = best_val[w]; idx = best_idx[w]; }
        }
        ids[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
    }
}

// Bandwidth probe: reads n16 16-byte vectors and folds them into one word per block, so nothing is optimized away.
extern "C" __global__ void tinyrt_read_probe(const uint4* __restrict__ data, long n16, unsigned* __restrict__ sink) { PDL_PROLOGUE;
    unsigned acc = 0;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n16; i += (long)gridDim.x * blockDim.x) {
        uint4 v = load_streaming(data + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    acc = __reduce_xor_sync(0xffffffffu, acc);
    if ((threadIdx.x & 31) == 0) atomicXor(sink + blockIdx.x % 1024, acc);
}

// Busy-waits for `nanoseconds` on one thread: the profiler puts it at the head of a step so the host can enqueue the
// whole step before the GPU starts, and each kernel's events then measure the kernel, not the launch latency.
extern "C" __global__ void tinyrt_spin(long long nanoseconds) { PDL_PROLOGUE;
#ifdef __CUDA_ARCH__
    unsigned long long start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while ((long long)(now - start) < nanoseconds);
#endif
}

// FP8 activations: out = e4m3(x / scale) as fp16 (every e4m3 value is exact in fp16), round to nearest even,
// saturating at +-448 as CUDA's __NV_SATFINITE and the CPU backend (Numerics.floatToE4m3). grid-stride over n.
DEV float round_e4m3(float v) {
    if (v != v) return v;
    float a = fabsf(v), r;
    if (a >= 448.f) {
        r = 448.f;
    } else if (a < 0.015625f) {  // subnormals: multiples of 2^-9
        r = rintf(a * 512.f) * 0.001953125f;
    } else {
        int e = ilogbf(a);
        r = ldexpf(rintf(ldexpf(a, 3 - e)), e - 3);
    }
    return v < 0.f ? -r : r;
}

extern "C" __global__ void tinyrt_quant_e4m3(const __half* __restrict__ x, float scale, __half* __restrict__ out,
                                             long n) { PDL_PROLOGUE;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __float2half_rn(round_e4m3(__half2float(x[i]) / scale));
}

// SmoothQuant W8A8 activations, one block per row (token): y = x * pre (pre may be null), amax = max |y|,
// q = rint(y * (127 / amax)) clamped to +-127 — TensorRT-LLM's per-token quantization and the CPU backend's
// (InputFormat.int8PerToken), fp32 arithmetic in the same order — written as fp16 values q * (amax / 127), which the
// W8A16 kernels multiply by the int8 weights: the CPU's integer dot times (token scale x row scale), but for the
// rounding of the token scale to fp16.
extern "C" __global__ void tinyrt_quant_int8_token(const __half* __restrict__ x, const float* __restrict__ pre,
                                                   __half* __restrict__ out, int cols) { PDL_PROLOGUE;
    __shared__ float scratch[32];
    const __half* row = x + (long)blockIdx.x * cols;
    __half* o = out + (long)blockIdx.x * cols;
    float amax = 0.f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float y = pre ? __half2float(row[i]) * pre[i] : __half2float(row[i]);
        amax = fmaxf(amax, fabsf(y));
    }
    amax = block_max(amax, scratch);
    float inverse = amax > 0.f ? 127.f / amax : 0.f;
    float scale = amax / 127.f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float y = pre ? __half2float(row[i]) * pre[i] : __half2float(row[i]);
        float q = fminf(127.f, fmaxf(-127.f, rintf(y * inverse)));
        o[i] = __float2half_rn(q * scale);
    }
}
