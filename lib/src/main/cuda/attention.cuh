// Causal attention over the paged KV cache (layout in rope.cuh). Both kernels are GQA-aware: a block serves G query
// heads that share one KV head, so each key and value is loaded once for all of them. Every per-step value
// (positions, block tables, tiles) is read from device memory, so a captured CUDA graph replays with new ones.
#pragma once
#include "common.cuh"
#include "rope.cuh"

#define ATTN_THREADS 128
#define ATTN_WARPS (ATTN_THREADS / 32)

// ---------------------------------------------------------------------------------------------------------------
// Decode (one query row per sequence, or any rows at all): split-K flash-decoding.
// grid (heads / G, rows, num_splits). Split s covers keys [s * split_len, (s + 1) * split_len) of the row's causal
// span (keys 0..position). Each split writes an unnormalized partial output with its max and sum; the last block
// of a (row, head block) to finish merges them (a counter per (row, head block), reset by that block for the next
// launch). Dynamic shared memory: (G * split_len + ATTN_WARPS * G * D + 2 * G) floats.
template <int D, int G>
DEV void attn_decode_body(const __half* __restrict__ qkv, int qkv_stride, const __half* __restrict__ k_cache,
                          const __half* __restrict__ v_cache, const int* __restrict__ positions,
                          const int* __restrict__ row_seq, const int* __restrict__ block_tables, int table_width,
                          int block_size, int heads, int kv_heads, int split_len, int num_splits, float scale,
                          float* __restrict__ part_o, float* __restrict__ part_ml, int* __restrict__ counters,
                          __half* __restrict__ out) {
    constexpr int LPT = D / 8;   // lanes per key: each lane owns one 8-dim (16-byte) chunk
    constexpr int TPW = 32 / LPT;  // keys per warp per pass
    DYNAMIC_SHARED(float, attn_smem);
    float* scores = attn_smem;                          // [G][split_len]
    float* o_part = scores + G * split_len;             // [ATTN_WARPS][G][D]
    float* ml = o_part + ATTN_WARPS * G * D;            // [G][2]: max, sum
    __shared__ int is_last;

    int hb = blockIdx.x, row = blockIdx.y, split = blockIdx.z;
    int kv_head = (hb * G) / (heads / kv_heads);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int sub = lane % LPT, tok = lane / LPT;
    int span = positions[row] + 1;
    int start = split * split_len;
    int len = min(start + split_len, span) - start;
    const int* table = block_tables + (size_t)row_seq[row] * table_width;

    if (len > 0) {  // uniform per block
        float q[G][8];
#pragma unroll
        for (int g = 0; g < G; g++) {
            unpack8(*reinterpret_cast<const uint4*>(qkv + (size_t)row * qkv_stride + (hb * G + g) * D + sub * 8), q[g]);
#pragma unroll
            for (int e = 0; e < 8; e++) q[g][e] *= scale;
        }
        for (int base = warp * TPW; base < len; base += ATTN_WARPS * TPW) {  // uniform per warp
            int j = base + tok;
            bool valid = j < len;
            float kf[8];
            if (valid) {
                int pos = start + j;
                int blk = table[pos / block_size];
                const __half* kp = k_cache + cache_offset(blk, kv_head, pos % block_size, kv_heads, block_size, D);
                unpack8(*reinterpret_cast<const uint4*>(kp + sub * 8), kf);
            } else {
#pragma unroll
                for (int e = 0; e < 8; e++) kf[e] = 0.f;
            }
#pragma unroll
            for (int g = 0; g < G; g++) {
                float s = 0.f;
#pragma unroll
                for (int e = 0; e < 8; e++) s = fmaf(q[g][e], kf[e], s);
#pragma unroll
                for (int offset = LPT / 2; offset > 0; offset >>= 1) s += __shfl_xor_sync(0xffffffffu, s, offset);
                if (valid && sub == 0) scores[g * split_len + j] = s;
            }
        }
        __syncthreads();
        for (int g = warp; g < G; g += ATTN_WARPS) {
            float m = -INFINITY;
            for (int j = lane; j < len; j += 32) m = fmaxf(m, scores[g * split_len + j]);
            m = warp_max(m);
            float l = 0.f;
            for (int j = lane; j < len; j += 32) {
                float p = expf(scores[g * split_len + j] - m);
                scores[g * split_len + j] = p;
                l += p;
            }
            l = warp_sum(l);
            if (lane == 0) {
                ml[2 * g] = m;
                ml[2 * g + 1] = l;
            }
        }
        __syncthreads();
        float acc[G][8];
#pragma unroll
        for (int g = 0; g < G; g++)
#pragma unroll
            for (int e = 0; e < 8; e++) acc[g][e] = 0.f;
        for (int base = warp * TPW; base < len; base += ATTN_WARPS * TPW) {
            int j = base + tok;
            if (j < len) {
                int pos = start + j;
                int blk = table[pos / block_size];
                const __half* vp = v_cache + cache_offset(blk, kv_head, pos % block_size, kv_heads, block_size, D);
                float vf[8];
                unpack8(*reinterpret_cast<const uint4*>(vp + sub * 8), vf);
#pragma unroll
                for (int g = 0; g < G; g++) {
                    float p = scores[g * split_len + j];
#pragma unroll
                    for (int e = 0; e < 8; e++) acc[g][e] = fmaf(p, vf[e], acc[g][e]);
                }
            }
        }
#pragma unroll
        for (int g = 0; g < G; g++)
#pragma unroll
            for (int e = 0; e < 8; e++)
#pragma unroll
                for (int offset = LPT; offset < 32; offset <<= 1)
                    acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], offset);
        if (tok == 0) {
#pragma unroll
            for (int g = 0; g < G; g++)
#pragma unroll
                for (int e = 0; e < 8; e++) o_part[(warp * G + g) * D + sub * 8 + e] = acc[g][e];
        }
        __syncthreads();
        for (int i = threadIdx.x; i < G * D; i += ATTN_THREADS) {
            int g = i / D, d = i - g * D, h = hb * G + g;
            float o = 0.f;
#pragma unroll
            for (int w = 0; w < ATTN_WARPS; w++) o += o_part[(w * G + g) * D + d];
            if (num_splits == 1) {
                out[(size_t)row * heads * D + h * D + d] = __float2half_rn(o / ml[2 * g + 1]);
            } else {
                part_o[(((size_t)row * heads + h) * num_splits + split) * D + d] = o;
            }
        }
        if (num_splits > 1 && threadIdx.x < G) {
            size_t idx = ((size_t)row * heads + hb * G + threadIdx.x) * num_splits + split;
            part_ml[2 * idx] = ml[2 * threadIdx.x];
            part_ml[2 * idx + 1] = ml[2 * threadIdx.x + 1];
        }
    }
    if (num_splits == 1) return;
    __threadfence();  // partials visible device-wide before this block is counted
    __syncthreads();
    if (threadIdx.x == 0) {
        int* counter = counters + (size_t)row * gridDim.x + hb;
        is_last = atomicAdd(counter, 1) == num_splits - 1;
        if (is_last) *counter = 0;  // ready for the next launch (graph replays reuse the counters)
    }
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    int used = (span + split_len - 1) / split_len;
    for (int i = threadIdx.x; i < G * D; i += ATTN_THREADS) {
        int g = i / D, d = i - g * D, h = hb * G + g;
        size_t base = ((size_t)row * heads + h) * num_splits;
        float m = -INFINITY;
        for (int s = 0; s < used; s++) m = fmaxf(m, __ldcg(part_ml + 2 * (base + s)));
        float l = 0.f, o = 0.f;
        for (int s = 0; s < used; s++) {
            float w = expf(__ldcg(part_ml + 2 * (base + s)) - m);
            l += w * __ldcg(part_ml + 2 * (base + s) + 1);
            o += w * __ldcg(part_o + (base + s) * D + d);
        }
        out[(size_t)row * heads * D + h * D + d] = __float2half_rn(o / l);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Prefill: flash-attention style, tiled over queries and keys with an online softmax.
// A tile is up to 32 / G consecutive query rows of one sequence (tiles[3t] = sequence, [3t+1] = first row,
// [3t+2] = row count; positions ascend within a sequence). grid (heads / G, tiles), block 128: 32 query vectors
// (G heads x 32/G rows), 4 threads each, thread `sub` owning dims sub, sub + 4, ... Keys and values stream through
// shared memory 32 at a time.
template <int D, int G>
DEV void attn_prefill_body(const __half* __restrict__ qkv, int qkv_stride, const __half* __restrict__ k_cache,
                           const __half* __restrict__ v_cache, const int* __restrict__ positions,
                           const int* __restrict__ tiles, const int* __restrict__ block_tables, int table_width,
                           int block_size, int heads, int kv_heads, float scale, __half* __restrict__ out) {
    constexpr int KT = 32;
    constexpr int DPT = D / 4;
    constexpr int CHUNKS = D / 8;
    __shared__ __align__(16) float ks[KT][D];
    __shared__ __align__(16) float vs[KT][D];

    int hb = blockIdx.x, tile = blockIdx.y;
    int seq = tiles[3 * tile], first = tiles[3 * tile + 1], count = tiles[3 * tile + 2];
    int qv = threadIdx.x >> 2, sub = threadIdx.x & 3;
    int g = qv % G, r = qv / G;
    bool valid = r < count;
    int row = first + min(r, count - 1);
    int h = hb * G + g;
    int kv_head = (hb * G) / (heads / kv_heads);
    int span = valid ? positions[row] + 1 : 0;
    int max_span = positions[first + count - 1] + 1;
    const int* table = block_tables + (size_t)seq * table_width;

    float q[DPT], o[DPT];
    const __half* qp = qkv + (size_t)row * qkv_stride + h * D;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        q[i] = __half2float(qp[i * 4 + sub]) * scale;
        o[i] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    for (int j0 = 0; j0 < max_span; j0 += KT) {
        __syncthreads();  // the previous tile has been consumed
        for (int c = threadIdx.x; c < KT * CHUNKS; c += ATTN_THREADS) {
            int jj = c / CHUNKS, dc = c - jj * CHUNKS, j = j0 + jj;
            float kf[8], vf[8];
            if (j < max_span) {
                int blk = table[j / block_size];
                size_t off = cache_offset(blk, kv_head, j % block_size, kv_heads, block_size, D) + dc * 8;
                unpack8(*reinterpret_cast<const uint4*>(k_cache + off), kf);
                unpack8(*reinterpret_cast<const uint4*>(v_cache + off), vf);
            } else {
#pragma unroll
                for (int e = 0; e < 8; e++) kf[e] = vf[e] = 0.f;
            }
            float4* kd = reinterpret_cast<float4*>(&ks[jj][dc * 8]);
            float4* vd = reinterpret_cast<float4*>(&vs[jj][dc * 8]);
            kd[0] = make_float4(kf[0], kf[1], kf[2], kf[3]);
            kd[1] = make_float4(kf[4], kf[5], kf[6], kf[7]);
            vd[0] = make_float4(vf[0], vf[1], vf[2], vf[3]);
            vd[1] = make_float4(vf[4], vf[5], vf[6], vf[7]);
        }
        __syncthreads();
        float s[KT];
        float tile_max = -INFINITY;
#pragma unroll
        for (int jj = 0; jj < KT; jj++) {
            float acc = 0.f;
#pragma unroll
            for (int i = 0; i < DPT; i++) acc = fmaf(q[i], ks[jj][i * 4 + sub], acc);
            acc += __shfl_xor_sync(0xffffffffu, acc, 1);
            acc += __shfl_xor_sync(0xffffffffu, acc, 2);
            s[jj] = j0 + jj < span ? acc : -INFINITY;
            tile_max = fmaxf(tile_max, s[jj]);
        }
        if (tile_max > -INFINITY) {
            float m_new = fmaxf(m, tile_max);
            float corr = expf(m - m_new);
            l *= corr;
#pragma unroll
            for (int i = 0; i < DPT; i++) o[i] *= corr;
#pragma unroll
            for (int jj = 0; jj < KT; jj++) {
                float p = expf(s[jj] - m_new);
                l += p;
#pragma unroll
                for (int i = 0; i < DPT; i++) o[i] = fmaf(p, vs[jj][i * 4 + sub], o[i]);
            }
            m = m_new;
        }
    }
    if (valid) {
        __half* dst = out + (size_t)row * heads * D + h * D;
#pragma unroll
        for (int i = 0; i < DPT; i++) dst[i * 4 + sub] = __float2half_rn(o[i] / l);
    }
}

#define ATTN_KERNELS(D, G)                                                                                            \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS) tinyrt_attn_decode_d##D##_g##G(                        \
        const __half* qkv, int qkv_stride, const __half* k_cache, const __half* v_cache, const int* positions,        \
        const int* row_seq, const int* block_tables, int table_width, int block_size, int heads, int kv_heads,       \
        int split_len, int num_splits, float scale, float* part_o, float* part_ml, int* counters, __half* out) {     \
        attn_decode_body<D, G>(qkv, qkv_stride, k_cache, v_cache, positions, row_seq, block_tables, table_width,     \
                               block_size, heads, kv_heads, split_len, num_splits, scale, part_o, part_ml, counters, \
                               out);                                                                                  \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(ATTN_THREADS) tinyrt_attn_prefill_d##D##_g##G(                       \
        const __half* qkv, int qkv_stride, const __half* k_cache, const __half* v_cache, const int* positions,        \
        const int* tiles, const int* block_tables, int table_width, int block_size, int heads, int kv_heads,         \
        float scale, __half* out) {                                                                                   \
        attn_prefill_body<D, G>(qkv, qkv_stride, k_cache, v_cache, positions, tiles, block_tables, table_width,      \
                                block_size, heads, kv_heads, scale, out);                                             \
    }

#define ATTN_KERNELS_D(D) ATTN_KERNELS(D, 1) ATTN_KERNELS(D, 2) ATTN_KERNELS(D, 4) ATTN_KERNELS(D, 8)

ATTN_KERNELS_D(16)
ATTN_KERNELS_D(32)
ATTN_KERNELS_D(64)
ATTN_KERNELS_D(128)
