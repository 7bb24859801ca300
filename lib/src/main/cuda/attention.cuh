// Causal attention over the paged KV cache (layout in rope.cuh). Both kernels are GQA-aware: a block serves G query
// heads that share one KV head, so each key and value is loaded once for all of them. Every per-step value
// (positions, block tables, tiles) is read from device memory, so a captured CUDA graph replays with new ones.
#pragma once
#include "common.cuh"
#include "rope.cuh"

#define ATTN_THREADS 128
#define ATTN_WIDE_THREADS 512

// ---------------------------------------------------------------------------------------------------------------
// Decode (one query row per sequence, or any rows at all): split-K flash-decoding, built for latency.
// grid (heads / G, rows, num_splits), G <= 4. Split s covers keys [s * split_len, (s + 1) * split_len) of the row's
// causal span (keys 0..position), in tiles of DECODE_TILE(D) keys: every thread issues the loads of its 4 keys of a
// tile (K and V, 16 bytes each per lane) at once, then folds them into a running max, sum and output in registers
// (online softmax, one rescale per tile), so a short context costs one round trip to memory. Threads are merged by
// shuffles, warps through shared memory. With one split in use the block writes the output; with more, each split
// writes an unnormalized partial output with its max and sum, and the last block of a (row, head block) to finish
// merges the splits (a counter per (row, head block), reset by that block for the next launch). With fuse_rope the kernel also does tinyrt_rope_store_kv's work: q is rotated in
// registers, the new key is rotated from qkv and written to the cache (with its value) by the thread that uses it.
#define DECODE_KEYS_PER_THREAD 4
#define DECODE_TILE(D, T) (DECODE_KEYS_PER_THREAD * (T) / ((D) / 8))
// The wide variant (tinyrt_attn_decode_wide_*: T = 512 threads, one head per block) covers 256 keys of a 64-dim head
// per tile, so the host's splits (DecodeSplits) leave contexts up to 256 keys in one split: its block writes the
// output itself, with no partials, fence, counter or merging block after it. Splits past the row's position (the
// split count follows the block tables' capacity) return at once, and the merge counts only the splits in use.

// (m, l, o) += (m2, l2, o2) for softmax partials relative to their own maxima
template <int N>
DEV void merge_partial(float& m, float& l, float* o, float m2, float l2, const float* o2) {
    float mx = fmaxf(m, m2);
    float w1 = mx == -INFINITY ? 0.f : expf(m - mx);
    float w2 = mx == -INFINITY ? 0.f : expf(m2 - mx);
    l = l * w1 + l2 * w2;
#pragma unroll
    for (int e = 0; e < N; e++) o[e] = o[e] * w1 + o2[e] * w2;
    m = mx;
}

// What the decode body calls, from every thread, before it reads anything an earlier kernel (or, in the decode-layer
// kernel, an earlier stage) wrote: the PDL wait of a standalone launch.
struct PdlWait {
    DEV void operator()() const { pdl_wait(); }
};

// (hb, row, split) is the block's place in the grid (heads / G, rows, num_splits) and head_blocks its x extent: a
// standalone launch passes blockIdx and gridDim.x; the decode-layer kernel walks them.
template <int D, int G, typename KV, int T, class Wait = PdlWait>
DEV void attn_decode_body(int hb, int row, int split, int head_blocks, Wait wait, const __half* __restrict__ qkv, int qkv_stride, typename KV::T* __restrict__ k_cache,
                          typename KV::T* __restrict__ v_cache, const int* __restrict__ positions,
                          const int* __restrict__ row_seq, const int* __restrict__ block_tables, int table_width,
                          int block_size, int heads, int kv_heads, int split_len, int num_splits, float scale,
                          float* __restrict__ part_o, float* __restrict__ part_ml, int* __restrict__ counters,
                          __half* __restrict__ out, const float* __restrict__ cos_t,
                          const float* __restrict__ sin_t, const int* __restrict__ slots, int fuse_rope,
                          float kv_scale) {
    using Chunk = typename KV::Chunk;
    constexpr int LPT = D / 8;                      // lanes per key: each lane owns one 8-dim (16-byte) chunk
    constexpr int KEYS = T / LPT;                   // keys the block covers in one pass
    constexpr int WARPS = T / 32;
    constexpr int KPT = DECODE_KEYS_PER_THREAD;
    constexpr int HALF_CHUNKS = LPT / 2;            // RoPE pairs dims d and d + D/2: whole chunks pair up
    __shared__ float red_m[WARPS][G];
    __shared__ float red_l[WARPS][G];
    __shared__ float red_o[WARPS][G][D];
    __shared__ int is_last;

    int kv_head = (hb * G) / (heads / kv_heads);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int sub = lane % LPT;
    int key = threadIdx.x / LPT;
    int pos = positions[row];
    int start = split * split_len;
    int end = min(start + split_len, pos + 1);
    int used = (pos + split_len) / split_len;  // splits holding keys: the others have nothing to do
    if (split >= used) return;
    const int* table = block_tables + (size_t)row_seq[row] * table_width;
    const __half* qkv_row = qkv + (size_t)row * qkv_stride;
    bool low = sub < HALF_CHUNKS;
    int partner = low ? sub + HALF_CHUNKS : sub - HALF_CHUNKS;

    // PDL: with fuse_rope every key this kernel reads from the cache was written by an earlier step (the new one it
    // takes from qkv), so the first tile's loads go out before the wait for the QKV product; metadata (positions,
    // tables, slots) and the RoPE tables come from the host. Every thread waits before qkv, partials or counters.
    int slot = fuse_rope ? slots[row] : 0;
    if (!fuse_rope) wait();
    if (end > start) {  // uniform per block
        float c[8], sn[8];
        if (fuse_rope) {
            const float* cp = cos_t + (size_t)pos * (D / 2) + (sub % HALF_CHUNKS) * 8;
            const float* sp = sin_t + (size_t)pos * (D / 2) + (sub % HALF_CHUNKS) * 8;
#pragma unroll
            for (int e = 0; e < 8; e++) {
                c[e] = cp[e];
                sn[e] = sp[e];
            }
        }
        Chunk kr[KPT], vr[KPT];
        int j[KPT];
        auto load_tile = [&](int t0) {
#pragma unroll
            for (int u = 0; u < KPT; u++) {
                j[u] = t0 + u * KEYS + key;
                if (j[u] < end) {
                    size_t at = cache_offset(table[j[u] / block_size], kv_head, j[u] % block_size, kv_heads,
                                             block_size, D) + sub * 8;
                    kr[u] = *reinterpret_cast<const Chunk*>(k_cache + at);
                    vr[u] = *reinterpret_cast<const Chunk*>(v_cache + at);
                } else {
                    kr[u] = vr[u] = Chunk{};
                }
            }
        };
        load_tile(start);
        if (fuse_rope) wait();
        // Every load from qkv goes out before any of them is used: q (and its RoPE partner) and, for the thread that
        // holds this step's key in the first tile, the new key, its partner and the new value. One round trip to L2
        // after the wait instead of two (q's rotation used to stall before the new key's loads were issued).
        uint4 q_raw[G], qp_raw[G], nk_raw, nkp_raw, nv_raw;
        auto load_new = [&] {  // this step's key (this lane's chunk and its RoPE partner) and value
            const __half* kh = qkv_row + (heads + kv_head) * D;
            nk_raw = load_coherent(kh + sub * 8);
            nkp_raw = load_coherent(kh + partner * 8);
            nv_raw = load_coherent(qkv_row + (heads + kv_heads + kv_head) * D + sub * 8);
        };
        bool new_pre = false;  // this thread's new-key loads are already in flight
        if (fuse_rope) {
#pragma unroll
            for (int u = 0; u < KPT; u++) new_pre |= j[u] == pos;
            if (new_pre) load_new();
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
            const __half* qh = qkv_row + (hb * G + g) * D;
            q_raw[g] = load_coherent(qh + sub * 8);
            if (fuse_rope) qp_raw[g] = load_coherent(qh + partner * 8);
        }
        float q[G][8];
#pragma unroll
        for (int g = 0; g < G; g++) {
            unpack8(q_raw[g], q[g]);
            if (fuse_rope) {
                float pq[8];
                unpack8(qp_raw[g], pq);
#pragma unroll
                for (int e = 0; e < 8; e++) q[g][e] = low ? q[g][e] * c[e] - pq[e] * sn[e] : q[g][e] * c[e] + pq[e] * sn[e];
            }
#pragma unroll
            for (int e = 0; e < 8; e++) q[g][e] *= scale * kv_scale;  // keys are read without their scale
        }
        float m[G], l[G], acc[G][8];
#pragma unroll
        for (int g = 0; g < G; g++) {
            m[g] = -INFINITY;
            l[g] = 0.f;
#pragma unroll
            for (int e = 0; e < 8; e++) acc[g][e] = 0.f;
        }
        for (int t0 = start;;) {  // uniform per block; one tile for short contexts
            if (fuse_rope) {
#pragma unroll
                for (int u = 0; u < KPT; u++) {
                    if (j[u] == pos) {  // this step's key: rotate it from qkv, use it, and store it for later steps
                        if (!new_pre) load_new();  // a later tile (long contexts): its loads go out now
                        float kf[8], pk[8];
                        unpack8(nk_raw, kf);
                        unpack8(nkp_raw, pk);
#pragma unroll
                        for (int e = 0; e < 8; e++) kf[e] = low ? kf[e] * c[e] - pk[e] * sn[e] : kf[e] * c[e] + pk[e] * sn[e];
                        float inv = 1.f / kv_scale, vf[8];
                        unpack8(nv_raw, vf);
                        kr[u] = KV::pack(kf, inv);
                        vr[u] = KV::pack(vf, inv);
                        size_t at = cache_offset(slot / block_size, kv_head, slot % block_size, kv_heads, block_size, D)
                                    + sub * 8;
                        *reinterpret_cast<Chunk*>(k_cache + at) = kr[u];
                        *reinterpret_cast<Chunk*>(v_cache + at) = vr[u];
                    }
                }
            }
            // the tile's KPT x G scores first, their lane sums as independent shuffles, then one softmax update
            // per head for the thread's KPT keys (not one per key: a chain of dependent shuffles and exps)
            float s[KPT][G];
#pragma unroll
            for (int u = 0; u < KPT; u++) {
                float kf[8];
                KV::unpack(kr[u], kf);
#pragma unroll
                for (int g = 0; g < G; g++) {
                    s[u][g] = 0.f;
#pragma unroll
                    for (int e = 0; e < 8; e++) s[u][g] = fmaf(q[g][e], kf[e], s[u][g]);
                }
            }
#pragma unroll
            for (int offset = LPT / 2; offset > 0; offset >>= 1) {
#pragma unroll
                for (int u = 0; u < KPT; u++) {
#pragma unroll
                    for (int g = 0; g < G; g++) s[u][g] += __shfl_xor_sync(0xffffffffu, s[u][g], offset);
                }
            }
#pragma unroll
            for (int g = 0; g < G; g++) {
                float mt = -INFINITY;
#pragma unroll
                for (int u = 0; u < KPT; u++) mt = j[u] < end ? fmaxf(mt, s[u][g]) : mt;
                if (mt == -INFINITY) continue;  // no valid key of this thread in the tile
                float mx = fmaxf(m[g], mt);
                float corr = expf(m[g] - mx);  // 0 while m is still -inf
                l[g] *= corr;
#pragma unroll
                for (int e = 0; e < 8; e++) acc[g][e] *= corr;
                m[g] = mx;
            }
#pragma unroll
            for (int u = 0; u < KPT; u++) {
                if (j[u] >= end) continue;
                float vf[8];
                KV::unpack(vr[u], vf);
#pragma unroll
                for (int g = 0; g < G; g++) {
                    float p = expf(s[u][g] - m[g]);
                    l[g] += p;
#pragma unroll
                    for (int e = 0; e < 8; e++) acc[g][e] = fmaf(p, vf[e], acc[g][e]);
                }
            }
            t0 += KEYS * KPT;
            if (t0 >= end) break;
            load_tile(t0);
        }
        // merge the lanes that own the same dims (one per key group), then the warps
#pragma unroll
        for (int offset = LPT; offset < 32; offset <<= 1) {
#pragma unroll
            for (int g = 0; g < G; g++) {
                float m2 = __shfl_xor_sync(0xffffffffu, m[g], offset);
                float l2 = __shfl_xor_sync(0xffffffffu, l[g], offset);
                float o2[8];
#pragma unroll
                for (int e = 0; e < 8; e++) o2[e] = __shfl_xor_sync(0xffffffffu, acc[g][e], offset);
                merge_partial<8>(m[g], l[g], acc[g], m2, l2, o2);
            }
        }
        if (lane < LPT) {
#pragma unroll
            for (int g = 0; g < G; g++) {
#pragma unroll
                for (int e = 0; e < 8; e++) red_o[warp][g][sub * 8 + e] = acc[g][e];
                if (lane == 0) {
                    red_m[warp][g] = m[g];
                    red_l[warp][g] = l[g];
                }
            }
        }
        __syncthreads();
        for (int i = threadIdx.x; i < G * D; i += T) {
            int g = i / D, d = i - g * D, h = hb * G + g;
            // the warps' partials against their common maximum: independent exps, not a chain of WARPS - 1 merges
            // (16 for the wide variant), each waiting for the previous one's. A warp without keys has m = -inf and
            // weight exp(-inf) = 0; at least one warp has a key here, so mm is finite.
            float mm = red_m[0][g];
#pragma unroll
            for (int w = 1; w < WARPS; w++) mm = fmaxf(mm, red_m[w][g]);
            float ll = 0.f, o = 0.f;
#pragma unroll
            for (int w = 0; w < WARPS; w++) {
                float wt = expf(red_m[w][g] - mm);
                ll = fmaf(red_l[w][g], wt, ll);
                o = fmaf(red_o[w][g][d], wt, o);
            }
            if (used == 1) {
                out[(size_t)row * heads * D + h * D + d] = __float2half_rn(o / ll * kv_scale);
            } else {
                size_t idx = ((size_t)row * heads + h) * num_splits + split;
                part_o[idx * D + d] = o;
                if (d == 0) {
                    part_ml[2 * idx] = mm;
                    part_ml[2 * idx + 1] = ll;
                }
            }
        }
    }
    if (used == 1) return;
    __threadfence();  // partials visible device-wide before this block is counted
    __syncthreads();
    if (threadIdx.x == 0) {
        int* counter = counters + (size_t)row * head_blocks + hb;
        is_last = atomicAdd(counter, 1) == used - 1;
        if (is_last) *counter = 0;  // ready for the next launch (graph replays reuse the counters)
    }
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    for (int i = threadIdx.x; i < G * D; i += T) {
        int g = i / D, d = i - g * D, h = hb * G + g;
        size_t base = ((size_t)row * heads + h) * num_splits;
        float mm = -INFINITY, ll = 0.f, o = 0.f;
        for (int s = 0; s < used; s++) {
            float o2 = __ldcg(part_o + (base + s) * D + d);
            merge_partial<1>(mm, ll, &o, __ldcg(part_ml + 2 * (base + s)), __ldcg(part_ml + 2 * (base + s) + 1), &o2);
        }
        out[(size_t)row * heads * D + h * D + d] = __float2half_rn(o / ll * kv_scale);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Prefill: flash-attention style, tiled over queries and keys with an online softmax.
// A tile is up to 32 / G consecutive query rows of one sequence (tiles[3t] = sequence, [3t+1] = first row,
// [3t+2] = row count; positions ascend within a sequence). grid (heads / G, tiles), block PREFILL_THREADS: 32 query
// vectors (G heads x 32/G rows), each served by PREFILL_SPLITS groups of 4 lanes, lane `sub` owning the D/4
// consecutive dims from sub * D/4. Keys and values stream through shared memory as fp16 (exact for fp16, int8 and
// fp8 caches: the scale stays out) PREFILL_TILE at a time; split s takes keys s, s + S, ... of each tile and keeps
// its own running max, sum and output, so a thread walks 1/S of the keys and a block has 4S warps to hide latency.
// The S partials of a query vector sit in one warp (lanes 4s + sub of a 4S-lane group) and merge by shuffles.
#define PREFILL_SPLITS 4
#define PREFILL_THREADS (32 * 4 * PREFILL_SPLITS)
#define PREFILL_TILE 64

// N consecutive fp16 values from half index `at` of a shared-memory row (16-byte aligned for N >= 8), widened
template <int N>
DEV void load_halves(const uint4* row, int at, float* out) {
    if constexpr (N % 8 == 0) {
#pragma unroll
        for (int c = 0; c < N / 8; c++) unpack8(row[at / 8 + c], out + 8 * c);
    } else {
        static_assert(N == 4, "a lane owns 4 or a multiple of 8 dims");
        uint2 raw = reinterpret_cast<const uint2*>(row)[at / 4];
        float e[8];
        unpack8(make_uint4(raw.x, raw.y, 0u, 0u), e);
#pragma unroll
        for (int i = 0; i < 4; i++) out[i] = e[i];
    }
}

template <int D, int G, typename KV>
DEV void attn_prefill_body(const __half* __restrict__ qkv, int qkv_stride, const typename KV::T* __restrict__ k_cache,
                           const typename KV::T* __restrict__ v_cache, const int* __restrict__ positions,
                           const int* __restrict__ tiles, const int* __restrict__ block_tables, int table_width,
                           int block_size, int heads, int kv_heads, float scale, __half* __restrict__ out,
                           float kv_scale) {
    using Chunk = typename KV::Chunk;
    constexpr int S = PREFILL_SPLITS;
    constexpr int KT = PREFILL_TILE;
    constexpr int KPS = KT / S;              // keys of a tile each split takes
    constexpr int DPT = D / 4;
    constexpr int CHUNKS = D / 8;
    constexpr int ROW = CHUNKS + 1;          // 16-byte chunks per shared row, one of padding: the S keys a warp
                                             // reads at once start in different banks
    __shared__ uint4 ks[KT][ROW];
    __shared__ uint4 vs[KT][ROW];

    int hb = blockIdx.x, tile = blockIdx.y;
    int seq = tiles[3 * tile], first = tiles[3 * tile + 1], count = tiles[3 * tile + 2];
    int sub = threadIdx.x & 3, split = (threadIdx.x >> 2) % S, qv = threadIdx.x / (4 * S);
    int g = qv % G, r = qv / G;
    bool valid = r < count;
    int row = first + min(r, count - 1);
    int h = hb * G + g;
    int kv_head = (hb * G) / (heads / kv_heads);
    int span = valid ? positions[row] + 1 : 0;
    int max_span = positions[first + count - 1] + 1;
    const int* table = block_tables + (size_t)seq * table_width;

    float q[DPT], o[DPT];
    const __half* qp = qkv + (size_t)row * qkv_stride + h * D + sub * DPT;
#pragma unroll
    for (int i = 0; i < DPT; i++) {
        q[i] = __half2float(qp[i]) * (scale * kv_scale);  // keys are read without their scale
        o[i] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    for (int j0 = 0; j0 < max_span; j0 += KT) {
        __syncthreads();  // the previous tile has been consumed
        for (int c = threadIdx.x; c < KT * CHUNKS; c += PREFILL_THREADS) {
            int jj = c / CHUNKS, dc = c - jj * CHUNKS, j = j0 + jj;
            float kf[8], vf[8];
            if (j < max_span) {
                int blk = table[j / block_size];
                size_t off = cache_offset(blk, kv_head, j % block_size, kv_heads, block_size, D) + dc * 8;
                KV::unpack(*reinterpret_cast<const Chunk*>(k_cache + off), kf);
                KV::unpack(*reinterpret_cast<const Chunk*>(v_cache + off), vf);
            } else {  // zeros, not garbage: masked keys get weight 0, and 0 * NaN would not be 0
#pragma unroll
                for (int e = 0; e < 8; e++) kf[e] = vf[e] = 0.f;
            }
            ks[jj][dc] = pack8(kf);
            vs[jj][dc] = pack8(vf);
        }
        __syncthreads();
        float s[KPS];
        float tile_max = -INFINITY;
#pragma unroll
        for (int u = 0; u < KPS; u++) {
            int jj = u * S + split;
            float kf[DPT];
            load_halves<DPT>(ks[jj], sub * DPT, kf);
            float acc = 0.f;
#pragma unroll
            for (int i = 0; i < DPT; i++) acc = fmaf(q[i], kf[i], acc);
            acc += __shfl_xor_sync(0xffffffffu, acc, 1);
            acc += __shfl_xor_sync(0xffffffffu, acc, 2);
            s[u] = j0 + jj < span ? acc : -INFINITY;
            tile_max = fmaxf(tile_max, s[u]);
        }
        if (tile_max > -INFINITY) {
            float m_new = fmaxf(m, tile_max);
            float corr = expf(m - m_new);
            l *= corr;
#pragma unroll
            for (int i = 0; i < DPT; i++) o[i] *= corr;
#pragma unroll
            for (int u = 0; u < KPS; u++) {
                float p = expf(s[u] - m_new);
                float vf[DPT];
                load_halves<DPT>(vs[u * S + split], sub * DPT, vf);
                l += p;
#pragma unroll
                for (int i = 0; i < DPT; i++) o[i] = fmaf(p, vf[i], o[i]);
            }
            m = m_new;
        }
    }
#pragma unroll
    for (int offset = 4; offset < 4 * S; offset <<= 1) {  // merge the splits (lanes 4s + sub of the same vector)
        float m2 = __shfl_xor_sync(0xffffffffu, m, offset);
        float l2 = __shfl_xor_sync(0xffffffffu, l, offset);
        float o2[DPT];
#pragma unroll
        for (int i = 0; i < DPT; i++) o2[i] = __shfl_xor_sync(0xffffffffu, o[i], offset);
        merge_partial<DPT>(m, l, o, m2, l2, o2);
    }
    if (valid && split == 0) {
        __half* dst = out + (size_t)row * heads * D + h * D + sub * DPT;
#pragma unroll
        for (int i = 0; i < DPT; i++) dst[i] = __float2half_rn(o[i] / l * kv_scale);
    }
}

// One kernel per (KV element type, head_dim, heads per block): fp16 names carry no type (tinyrt_attn_decode_d64_g4),
// int8 and fp8 do (tinyrt_attn_decode_int8_d64_g4, tinyrt_attn_decode_fp8_d64_g4); the wide variant one head per
// block (tinyrt_attn_decode_wide_d64_g1). kv_scale is the layer's kv_cache_scaling_factor (1 for fp16).
#define ATTN_DECODE_KERNEL_T(NAME, KV, D, G, THREADS)                                                                 \
    extern "C" __global__ void __launch_bounds__(THREADS) NAME(                                                       \
        const __half* qkv, int qkv_stride, KV::T* k_cache, KV::T* v_cache, const int* positions,                      \
        const int* row_seq, const int* block_tables, int table_width, int block_size, int heads, int kv_heads,       \
        int split_len, int num_splits, float scale, float* part_o, float* part_ml, int* counters, __half* out,       \
        const float* cos_t, const float* sin_t, const int* slots, int fuse_rope, float kv_scale) {                   \
        pdl_launch(); /* the body waits (see there) */                                                               \
        attn_decode_body<D, G, KV, THREADS>(blockIdx.x, blockIdx.y, blockIdx.z, gridDim.x, PdlWait{}, qkv, qkv_stride, k_cache, v_cache, positions, row_seq, block_tables,    \
                                            table_width, block_size, heads, kv_heads, split_len, num_splits, scale,  \
                                            part_o, part_ml, counters, out, cos_t, sin_t, slots, fuse_rope,          \
                                            kv_scale);                                                               \
    }
#define ATTN_DECODE_KERNEL(P, KV, D, G)                                                                               \
    ATTN_DECODE_KERNEL_T(tinyrt_attn_decode_##P##d##D##_g##G, KV, D, G, ATTN_THREADS)
#define ATTN_DECODE_WIDE_KERNEL(P, KV, D)                                                                             \
    ATTN_DECODE_KERNEL_T(tinyrt_attn_decode_wide_##P##d##D##_g1, KV, D, 1, ATTN_WIDE_THREADS)

#define ATTN_PREFILL_KERNEL(P, KV, D, G)                                                                              \
    extern "C" __global__ void __launch_bounds__(PREFILL_THREADS) tinyrt_attn_prefill_##P##d##D##_g##G(                  \
        const __half* qkv, int qkv_stride, const KV::T* k_cache, const KV::T* v_cache, const int* positions,          \
        const int* tiles, const int* block_tables, int table_width, int block_size, int heads, int kv_heads,         \
        float scale, __half* out, float kv_scale) {                                                                   \
        PDL_PROLOGUE;                                                                                                 \
        attn_prefill_body<D, G, KV>(qkv, qkv_stride, k_cache, v_cache, positions, tiles, block_tables, table_width,  \
                                    block_size, heads, kv_heads, scale, out, kv_scale);                               \
    }

#define ATTN_KERNELS_D(P, KV, D)                                                                                      \
    ATTN_DECODE_KERNEL(P, KV, D, 1) ATTN_DECODE_KERNEL(P, KV, D, 2) ATTN_DECODE_KERNEL(P, KV, D, 4)                   \
    ATTN_DECODE_WIDE_KERNEL(P, KV, D)                                                                                 \
    ATTN_PREFILL_KERNEL(P, KV, D, 1) ATTN_PREFILL_KERNEL(P, KV, D, 2) ATTN_PREFILL_KERNEL(P, KV, D, 4)                \
    ATTN_PREFILL_KERNEL(P, KV, D, 8)

#define ATTN_KERNELS(P, KV) ATTN_KERNELS_D(P, KV, 16) ATTN_KERNELS_D(P, KV, 32) ATTN_KERNELS_D(P, KV, 64)             \
    ATTN_KERNELS_D(P, KV, 128)

ATTN_KERNELS(, KvF16)
ATTN_KERNELS(int8_, KvInt8)
ATTN_KERNELS(fp8_, KvFp8)
