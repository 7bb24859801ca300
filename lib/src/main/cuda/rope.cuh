// NeoX rotary embedding of q and k, fused with the write of k and v into the paged KV cache.
// Cache layout per layer (K and V alike): [num_blocks][kv_heads][block_size][head_dim], so one block of one head is
// a contiguous block_size * head_dim tile that attention loads with 16-byte coalesced reads.
#pragma once
#include "common.cuh"

DEV size_t cache_offset(int block, int kv_head, int offset, int kv_heads, int block_size, int head_dim) {
    return ((size_t)(block * kv_heads + kv_head) * block_size + offset) * head_dim;
}

// KV-cache element types. A Chunk holds the 8 consecutive head dims one attention lane owns: fp16 in 16 bytes,
// int8 and fp8 e4m3 in 8. Int8/fp8 hold x * (1 / scale) with the layer's kv_cache_scaling_factor (int8 rounded to
// nearest even and clamped to +-127; fp8 rounded to nearest even and saturated to +-448, as CUDA's
// __NV_SATFINITE); unpack returns the stored numbers without the scale, which attention folds into q and the output.
// The CPU backend (dev.tinyrt.backend.cpu.KvArray, io.Numerics.floatToE4m3) encodes the same way.
DEV unsigned float_to_e4m3(float x) {
    unsigned sign = (__float_as_uint(x) >> 24) & 0x80u;
    float a = fabsf(x);
    if (!(a == a)) return sign | 0x7Fu;
    if (a >= 448.f) return sign | 0x7Eu;
    int code;
    if (a < 0.015625f) {
        code = static_cast<int>(rintf(a * 512.f));  // subnormals, multiples of 2^-9 (8: the smallest normal)
    } else {
        unsigned bits = __float_as_uint(a);
        int exponent = static_cast<int>(bits >> 23) - 127;  // a is a normal fp32 here
        // a's significand as a number in [8, 16) (exponent field set to 3), rounded to the 3 mantissa bits kept
        int mant = static_cast<int>(rintf(__uint_as_float((bits & 0x007FFFFFu) | 0x41000000u)));
        if (mant == 16) {
            exponent++;
            mant = 8;
        }
        code = ((exponent + 7) << 3) | (mant - 8);
    }
    return sign | static_cast<unsigned>(min(code, 0x7E));
}

struct KvF16 {
    using T = __half;
    using Chunk = uint4;
    static DEV T encode(float x, float) { return __float2half_rn(x); }
    static DEV void unpack(const Chunk& c, float* out) { unpack8(c, out); }
    static DEV Chunk pack(const float* in, float) { return pack8(in); }
};

struct KvInt8 {
    using T = signed char;
    using Chunk = uint2;
    static DEV T encode(float x, float inv) {
        float r = rintf(x * inv);
        r = r > 127.f ? 127.f : (r < -127.f ? -127.f : r);
        return static_cast<T>(static_cast<int>(r));
    }
    static DEV void unpack(const Chunk& c, float* out) {
#pragma unroll
        for (int k = 0; k < 4; k++) {
            out[k] = static_cast<float>(static_cast<signed char>(c.x >> (8 * k)));
            out[4 + k] = static_cast<float>(static_cast<signed char>(c.y >> (8 * k)));
        }
    }
    static DEV Chunk pack(const float* in, float inv) {
        unsigned w[2] = {0u, 0u};
#pragma unroll
        for (int k = 0; k < 8; k++) w[k / 4] |= (static_cast<unsigned>(encode(in[k], inv)) & 0xffu) << (8 * (k % 4));
        return make_uint2(w[0], w[1]);
    }
};

struct KvFp8 {
    using T = unsigned char;
    using Chunk = uint2;
    static DEV T encode(float x, float inv) { return static_cast<T>(float_to_e4m3(x * inv)); }
    static DEV void unpack(const Chunk& c, float* out) {
#pragma unroll
        for (int k = 0; k < 4; k++) {
            out[k] = e4m3_to_float((c.x >> (8 * k)) & 0xffu);
            out[4 + k] = e4m3_to_float((c.y >> (8 * k)) & 0xffu);
        }
    }
    static DEV Chunk pack(const float* in, float inv) {
        unsigned w[2] = {0u, 0u};
#pragma unroll
        for (int k = 0; k < 8; k++) w[k / 4] |= static_cast<unsigned>(encode(in[k], inv)) << (8 * (k % 4));
        return make_uint2(w[0], w[1]);
    }
};

// A chunk as 8 fp16 values (the batched decode attention stages its tiles so). Exact: int8 values and every finite
// e4m3 value (2^-9 .. 448, 3 mantissa bits) are fp16 numbers.
template <typename KV>
DEV uint4 kv_chunk_to_half8(const typename KV::Chunk& c) {
    float f[8];
    KV::unpack(c, f);
    return pack8(f);
}
template <>
DEV uint4 kv_chunk_to_half8<KvF16>(const uint4& c) { return c; }

// 8 fp16 values as a chunk, quantized with inv = 1 / kv_scale (fp16: the values' own bits).
template <typename KV>
DEV typename KV::Chunk kv_chunk_from_half8(const uint4& raw, float inv) {
    float f[8];
    unpack8(raw, f);
    return KV::pack(f, inv);
}
template <>
DEV uint4 kv_chunk_from_half8<KvF16>(const uint4& raw, float) { return raw; }

// grid: token rows, block: 256. cos/sin: [max_positions, head_dim / 2] fp32 (computed as HF does, on the host).
// The rotated key is stored from fp32 (fp16 rounds it as before, int8/fp8 quantize it with kv_scale).
template <typename KV>
DEV void rope_store_kv_body(__half* __restrict__ qkv, int qkv_stride, const float* __restrict__ cos_t,
                            const float* __restrict__ sin_t, const int* __restrict__ positions,
                            const int* __restrict__ slots, typename KV::T* __restrict__ k_cache,
                            typename KV::T* __restrict__ v_cache, int heads, int kv_heads, int head_dim,
                            int block_size, float kv_scale) {
    int row = blockIdx.x;
    int pos = positions[row];
    int slot = slots[row];
    int block = slot / block_size, offset = slot - block * block_size;
    int half_dim = head_dim / 2;
    float inv = 1.f / kv_scale;
    __half* base = qkv + (size_t)row * qkv_stride;
    int pairs = (heads + kv_heads) * half_dim;
    for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
        int h = i / half_dim, j = i - h * half_dim;
        __half* p = base + h * head_dim;
        float x1 = __half2float(p[j]), x2 = __half2float(p[j + half_dim]);
        float c = cos_t[(size_t)pos * half_dim + j], s = sin_t[(size_t)pos * half_dim + j];
        float f1 = x1 * c - x2 * s, f2 = x2 * c + x1 * s;
        p[j] = __float2half_rn(f1);
        p[j + half_dim] = __float2half_rn(f2);
        if (h >= heads) {
            typename KV::T* dst = k_cache + cache_offset(block, h - heads, offset, kv_heads, block_size, head_dim);
            dst[j] = KV::encode(f1, inv);
            dst[j + half_dim] = KV::encode(f2, inv);
        }
    }
    const __half* v = base + (heads + kv_heads) * head_dim;
    for (int i = threadIdx.x; i < kv_heads * head_dim; i += blockDim.x) {
        int kh = i / head_dim, d = i - kh * head_dim;
        v_cache[cache_offset(block, kh, offset, kv_heads, block_size, head_dim) + d] = KV::encode(__half2float(v[i]), inv);
    }
}

#define ROPE_STORE_KV_KERNEL(NAME, KV)                                                                                \
    extern "C" __global__ void NAME(__half* qkv, int qkv_stride, const float* cos_t, const float* sin_t,             \
                                    const int* positions, const int* slots, KV::T* k_cache, KV::T* v_cache,          \
                                    int heads, int kv_heads, int head_dim, int block_size, float kv_scale) {          \
        PDL_PROLOGUE;                                                                                                 \
        rope_store_kv_body<KV>(qkv, qkv_stride, cos_t, sin_t, positions, slots, k_cache, v_cache, heads, kv_heads,    \
                               head_dim, block_size, kv_scale);                                                       \
    }

ROPE_STORE_KV_KERNEL(tinyrt_rope_store_kv, KvF16)
ROPE_STORE_KV_KERNEL(tinyrt_rope_store_kv_int8, KvInt8)
ROPE_STORE_KV_KERNEL(tinyrt_rope_store_kv_fp8, KvFp8)
