// NeoX rotary embedding of q and k, fused with the write of k and v into the paged KV cache.
// Cache layout per layer (K and V alike): [num_blocks][kv_heads][block_size][head_dim], so one block of one head is
// a contiguous block_size * head_dim tile that attention loads with 16-byte coalesced reads.
#pragma once
#include "common.cuh"

DEV size_t cache_offset(int block, int kv_head, int offset, int kv_heads, int block_size, int head_dim) {
    return ((size_t)(block * kv_heads + kv_head) * block_size + offset) * head_dim;
}

// grid: token rows, block: 256. cos/sin: [max_positions, head_dim / 2] fp32 (computed as HF does, on the host).
extern "C" __global__ void tinyrt_rope_store_kv(__half* __restrict__ qkv, int qkv_stride, const float* __restrict__ cos_t,
                                                const float* __restrict__ sin_t, const int* __restrict__ positions,
                                                const int* __restrict__ slots, __half* __restrict__ k_cache,
                                                __half* __restrict__ v_cache, int heads, int kv_heads, int head_dim,
                                                int block_size) { PDL_PROLOGUE;
    int row = blockIdx.x;
    int pos = positions[row];
    int slot = slots[row];
    int block = slot / block_size, offset = slot - block * block_size;
    int half_dim = head_dim / 2;
    __half* base = qkv + (size_t)row * qkv_stride;
    int pairs = (heads + kv_heads) * half_dim;
    for (int i = threadIdx.x; i < pairs; i += blockDim.x) {
        int h = i / half_dim, j = i - h * half_dim;
        __half* p = base + h * head_dim;
        float x1 = __half2float(p[j]), x2 = __half2float(p[j + half_dim]);
        float c = cos_t[(size_t)pos * half_dim + j], s = sin_t[(size_t)pos * half_dim + j];
        __half r1 = __float2half_rn(x1 * c - x2 * s), r2 = __float2half_rn(x2 * c + x1 * s);
        p[j] = r1;
        p[j + half_dim] = r2;
        if (h >= heads) {
            __half* dst = k_cache + cache_offset(block, h - heads, offset, kv_heads, block_size, head_dim);
            dst[j] = r1;
            dst[j + half_dim] = r2;
        }
    }
    const __half* v = base + (heads + kv_heads) * head_dim;
    for (int i = threadIdx.x; i < kv_heads * head_dim; i += blockDim.x) {
        int kh = i / head_dim, d = i - kh * head_dim;
        v_cache[cache_offset(block, kh, offset, kv_heads, block_size, head_dim) + d] = v[i];
    }
}
