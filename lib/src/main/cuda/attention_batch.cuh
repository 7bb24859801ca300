// Decode attention for batches (one query row per sequence), built for throughput: a block serves one (row, KV head)
// and all G query heads of that GQA group, so every key and value of the row's context is read from memory once per
// step. The decode kernel in attention.cuh is built for batch-1 latency instead (at most 4 heads per block, a split
// per tile of keys); at large batches its many small blocks and re-reads dominate the step.
//
// grid (kv_heads, rows, num_splits), block 2 * D threads. Split s covers keys [s * split_len, (s + 1) *
// split_len) of the row's causal span (keys 0..position); splits beyond the span return at once. split_len is fixed
// by the host (not derived from the batch), so a row's arithmetic depends only on its own position and cache: its
// output bits are the same whatever else is in the batch. Keys stream through shared memory in tiles of
// BATCH_ATTN_TILE, staged through registers so the next tile's loads are in flight while this one is computed:
//   scores   thread (key j, heads g0, g0 + 2D/64, ...) dots its key with q (fp32, in shared memory, broadcast);
//   softmax  one warp per head: the tile's max and sum update the head's running max and sum (online softmax);
//   P.V      thread (8-dim chunk c, half or all of the G heads, a slice of 4 or 8 consecutive keys) accumulates
//            chunk c of its heads over its keys (at most 4 heads a thread, so its sums stay in few registers).
// The slices are summed at the end (warp shuffles, then shared memory). With more than one split each writes an
// unnormalized partial with its max and sum and the last block of the (row, KV head) to finish merges them in split
// order (a counter per (row, KV head), reset by that block for the next launch). With fuse_rope the block also does
// tinyrt_rope_store_kv's work for its KV head, with the arithmetic of attention.cuh's fused decode: q is rotated in
// fp32 (not rounded), the new key is rotated, rounded to fp16, written to the cache with its value and used from
// there on; the rest of the cache is read as the paged layout of rope.cuh describes.
// KV caches of int8 or fp8 e4m3 (KV traits of rope.cuh) are read as 8-byte chunks and widened to fp16 as they enter
// shared memory (exact, kv_chunk_to_half8), so the tile arithmetic is the fp16 one; as in the latency kernel the
// layer's kv_scale is folded into q and the output instead of each key and value, and the fused new key and value
// are quantized with it (KV::pack) before they are stored and used.
#pragma once
#include "common.cuh"
#include "rope.cuh"
#include "attention.cuh"

#define BATCH_ATTN_TILE 64
// Threads per block: 2 * D, so a tile's K and V are 4 + 4 16-byte loads per thread whatever D.
#define BATCH_ATTN_THREADS(D) (2 * (D))
// Blocks per SM the registers must allow (launch bounds): 512 threads per SM at most 128 registers each.
#define BATCH_ATTN_MIN_BLOCKS(D) (256 / (D))

// NeoX rotation of chunk c (dims 8c..8c+7, values x) of one head at `head`: dims d and d + D/2 pair up, so chunk c
// pairs with chunk c +- D/16. Same expressions as the fused decode in attention.cuh.
template <int D>
DEV void rope_chunk(float* x, const __half* head, int c, int pos, const float* __restrict__ cos_t,
                    const float* __restrict__ sin_t) {
    constexpr int HALF_CHUNKS = D / 16;
    bool low = c < HALF_CHUNKS;
    float px[8];
    unpack8(*reinterpret_cast<const uint4*>(head + (low ? c + HALF_CHUNKS : c - HALF_CHUNKS) * 8), px);
    const float* cp = cos_t + (size_t)pos * (D / 2) + (c % HALF_CHUNKS) * 8;
    const float* sp = sin_t + (size_t)pos * (D / 2) + (c % HALF_CHUNKS) * 8;
#pragma unroll
    for (int e = 0; e < 8; e++) {
        float cv = cp[e], sv = sp[e];
        x[e] = low ? x[e] * cv - px[e] * sv : x[e] * cv + px[e] * sv;
    }
}

template <int D, int G, typename KV>
DEV void attn_decode_batch_body(const __half* __restrict__ qkv, int qkv_stride, typename KV::T* __restrict__ k_cache,
                                typename KV::T* __restrict__ v_cache, const int* __restrict__ positions,
                                const int* __restrict__ row_seq, const int* __restrict__ block_tables,
                                int table_width, int block_size, int heads, int kv_heads, int split_len,
                                int num_splits, float scale, float* __restrict__ part_o,
                                float* __restrict__ part_ml, int* __restrict__ counters, __half* __restrict__ out,
                                const float* __restrict__ cos_t, const float* __restrict__ sin_t,
                                const int* __restrict__ slots, int fuse_rope, float kv_scale) {
    using Chunk = typename KV::Chunk;
    constexpr int NT = BATCH_ATTN_THREADS(D);
    constexpr int WARPS = NT / 32;
    constexpr int T = BATCH_ATTN_TILE;
    constexpr int CH = D / 8;                    // 8-value chunks per key row (16 bytes in fp16)
    constexpr int LOADS = T * CH / NT;           // chunks of K (and of V) each thread moves per tile
    constexpr int HG = G <= 4 ? 1 : 2;           // head groups of the P.V product
    constexpr int GH = G / HG;                   // heads per group
    constexpr int OWNERS = CH * HG;              // threads that own distinct outputs (one warp at most)
    constexpr int SLICES = NT / OWNERS;          // key slices of the P.V product
    constexpr int KPS = T / SLICES;              // consecutive keys per slice
    constexpr int GSTEP = NT / T;                // a thread scores heads g0, g0 + GSTEP, ...
    constexpr int HPT = (G + GSTEP - 1) / GSTEP; // scores per thread per tile
    constexpr int KPAD = D + 8;                  // padded K rows: 8 rows read at once hit distinct banks
    constexpr int K_BYTES = T * KPAD * 2, V_BYTES = T * D * 2, RED_BYTES = WARPS * G * D * 4;
    constexpr int TILE_BYTES = K_BYTES + V_BYTES > RED_BYTES ? K_BYTES + V_BYTES : RED_BYTES;
    static_assert(T == 64 && (T * CH) % NT == 0 && OWNERS <= 32 && NT % T == 0 && G % HG == 0
                  && GH <= 4, "tile shape");
    // the K and V tiles, reused for the final sum over warps once the last tile is consumed
    __shared__ __align__(16) unsigned char tile_mem[TILE_BYTES];
    __shared__ __align__(16) float q_s[G][D];
    __shared__ __align__(16) float p_s[G][T];  // a tile's scores, then its probabilities
    __shared__ float m_s[G], l_s[G], corr_s[G];
    __shared__ int is_last;
    auto k_s = reinterpret_cast<__half (*)[KPAD]>(tile_mem);
    auto v_s = reinterpret_cast<__half (*)[D]>(tile_mem + K_BYTES);
    auto red = reinterpret_cast<float (*)[G][D]>(tile_mem);

    int kvh = blockIdx.x, row = blockIdx.y, split = blockIdx.z;
    int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    int pos = positions[row];
    int used = (pos + split_len) / split_len;  // splits that hold keys of this row
    if (split >= used) return;                 // uniform per block
    int start = split * split_len;
    int end = min(start + split_len, pos + 1);
    const int* table = block_tables + (size_t)row_seq[row] * table_width;
    const __half* qkv_row = qkv + (size_t)row * qkv_stride;
    const __half* k_new = qkv_row + (heads + kvh) * D;
    const __half* v_new = qkv_row + (heads + kv_heads + kvh) * D;

    for (int i = tid; i < G * CH; i += NT) {
        int g = i / CH, c = i - g * CH;
        const __half* qh = qkv_row + (kvh * G + g) * D;
        float q[8];
        unpack8(*reinterpret_cast<const uint4*>(qh + c * 8), q);
        if (fuse_rope) rope_chunk<D>(q, qh, c, pos, cos_t, sin_t);
#pragma unroll
        for (int e = 0; e < 8; e++) q_s[g][c * 8 + e] = q[e] * (scale * kv_scale);  // keys are read without it
    }
    if (tid < G) {
        m_s[tid] = -INFINITY;
        l_s[tid] = 0.f;
    }

    Chunk kr[LOADS], vr[LOADS];
    auto load = [&](int t0) {  // issue the tile's loads; the new key (fused) comes from qkv instead
#pragma unroll
        for (int u = 0; u < LOADS; u++) {
            int i = tid + u * NT, j = t0 + i / CH, c = i % CH;
            if (j < end && !(fuse_rope && j == pos)) {
                size_t at = cache_offset(table[j / block_size], kvh, j % block_size, kv_heads, block_size, D) + c * 8;
                kr[u] = *reinterpret_cast<const Chunk*>(k_cache + at);
                vr[u] = *reinterpret_cast<const Chunk*>(v_cache + at);
            } else {
                kr[u] = vr[u] = Chunk{};  // keys past the span: zeros (finite), and their p is 0
            }
        }
    };
    auto store = [&](int t0) {
#pragma unroll
        for (int u = 0; u < LOADS; u++) {
            int i = tid + u * NT, jj = i / CH, c = i % CH;
            if (fuse_rope && t0 + jj == pos) {  // this step's key: rotate it, store it for later steps, use it
                float kf[8], inv = 1.f / kv_scale;
                unpack8(*reinterpret_cast<const uint4*>(k_new + c * 8), kf);
                rope_chunk<D>(kf, k_new, c, pos, cos_t, sin_t);
                kr[u] = KV::pack(kf, inv);
                vr[u] = kv_chunk_from_half8<KV>(*reinterpret_cast<const uint4*>(v_new + c * 8), inv);
                int slot = slots[row];
                size_t at = cache_offset(slot / block_size, kvh, slot % block_size, kv_heads, block_size, D) + c * 8;
                *reinterpret_cast<Chunk*>(k_cache + at) = kr[u];
                *reinterpret_cast<Chunk*>(v_cache + at) = vr[u];
            }
            *reinterpret_cast<uint4*>(&k_s[jj][c * 8]) = kv_chunk_to_half8<KV>(kr[u]);
            *reinterpret_cast<uint4*>(&v_s[jj][c * 8]) = kv_chunk_to_half8<KV>(vr[u]);
        }
    };

    float acc[GH][8];  // heads hg * GH + g, dims chunk * 8 + e
#pragma unroll
    for (int g = 0; g < GH; g++)
#pragma unroll
        for (int e = 0; e < 8; e++) acc[g][e] = 0.f;
    int chunk = tid % CH, hg = (tid / CH) % HG, slice = tid / OWNERS;
    int key = tid % T, g0 = tid / T;

    load(start);
    for (int t0 = start; t0 < end; t0 += T) {  // uniform per block
        store(t0);
        __syncthreads();  // the tile (and, first time round, q and the running sums) are in shared memory
        if (t0 + T < end) load(t0 + T);

        float s[HPT];
#pragma unroll
        for (int h = 0; h < HPT; h++) s[h] = 0.f;
#pragma unroll 1
        for (int c = 0; c < CH; c++) {  // not unrolled: hoisted loads would cost registers (occupancy)
            float kf[8];
            unpack8(*reinterpret_cast<const uint4*>(&k_s[key][c * 8]), kf);
#pragma unroll
            for (int h = 0; h < HPT; h++) {
                int g = g0 + h * GSTEP;
                if (g < G) {
                    float4 qa = *reinterpret_cast<const float4*>(&q_s[g][c * 8]);
                    float4 qb = *reinterpret_cast<const float4*>(&q_s[g][c * 8 + 4]);
                    float a = s[h];
                    a = fmaf(qa.x, kf[0], a);
                    a = fmaf(qa.y, kf[1], a);
                    a = fmaf(qa.z, kf[2], a);
                    a = fmaf(qa.w, kf[3], a);
                    a = fmaf(qb.x, kf[4], a);
                    a = fmaf(qb.y, kf[5], a);
                    a = fmaf(qb.z, kf[6], a);
                    a = fmaf(qb.w, kf[7], a);
                    s[h] = a;
                }
            }
        }
#pragma unroll
        for (int h = 0; h < HPT; h++) {
            int g = g0 + h * GSTEP;
            if (g < G) p_s[g][key] = t0 + key < end ? s[h] : -INFINITY;
        }
        __syncthreads();

        for (int g = warp; g < G; g += WARPS) {  // online softmax, one warp per head
            float a = p_s[g][lane], b = p_s[g][lane + 32];
            float m_old = m_s[g];
            float m_new = fmaxf(m_old, warp_max(fmaxf(a, b)));  // finite: the tile holds at least one key
            float pa = expf(a - m_new), pb = expf(b - m_new);
            p_s[g][lane] = pa;
            p_s[g][lane + 32] = pb;
            float sum = warp_sum(pa + pb);
            if (lane == 0) {
                float corr = expf(m_old - m_new);
                corr_s[g] = corr;
                l_s[g] = l_s[g] * corr + sum;
                m_s[g] = m_new;
            }
        }
        __syncthreads();

#pragma unroll
        for (int g = 0; g < GH; g++) {
            float corr = corr_s[hg * GH + g];
#pragma unroll
            for (int e = 0; e < 8; e++) acc[g][e] *= corr;
        }
#pragma unroll 1
        for (int k = slice * KPS; k < slice * KPS + KPS; k++) {  // one key at a time: few registers
            float vf[8];
            unpack8(*reinterpret_cast<const uint4*>(&v_s[k][chunk * 8]), vf);
#pragma unroll
            for (int g = 0; g < GH; g++) {
                float p = p_s[hg * GH + g][k];
#pragma unroll
                for (int e = 0; e < 8; e++) acc[g][e] = fmaf(p, vf[e], acc[g][e]);
            }
        }
        __syncthreads();  // the tile is consumed: the next store (or the final sum) may overwrite it
    }

    // sum the slices: lanes of a warp that own the same outputs, then the warps
#pragma unroll
    for (int offset = OWNERS; offset < 32; offset <<= 1)
#pragma unroll
        for (int g = 0; g < GH; g++)
#pragma unroll
            for (int e = 0; e < 8; e++) acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], offset);
    if (lane < OWNERS) {
#pragma unroll
        for (int g = 0; g < GH; g++)
#pragma unroll
            for (int e = 0; e < 8; e++) red[warp][hg * GH + g][chunk * 8 + e] = acc[g][e];
    }
    __syncthreads();
    for (int i = tid; i < G * D; i += NT) {
        int g = i / D, d = i - g * D;
        float o = red[0][g][d];
#pragma unroll
        for (int w = 1; w < WARPS; w++) o += red[w][g][d];
        if (used == 1) {
            out[(size_t)row * heads * D + (kvh * G + g) * D + d] = __float2half_rn(o / l_s[g] * kv_scale);
        } else {
            size_t idx = ((size_t)(row * kv_heads + kvh) * num_splits + split) * G + g;
            part_o[idx * D + d] = o;
            if (d == 0) {
                part_ml[2 * idx] = m_s[g];
                part_ml[2 * idx + 1] = l_s[g];
            }
        }
    }
    if (used == 1) return;
    __threadfence();  // partials visible device-wide before this block is counted
    __syncthreads();
    if (tid == 0) {
        int* counter = counters + (size_t)row * kv_heads + kvh;
        is_last = atomicAdd(counter, 1) == used - 1;
        if (is_last) *counter = 0;  // ready for the next launch (graph replays reuse the counters)
    }
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    for (int i = tid; i < G * D; i += NT) {
        int g = i / D, d = i - g * D;
        float mm = -INFINITY, ll = 0.f, o = 0.f;
        for (int s = 0; s < used; s++) {  // in split order, whichever block finished last
            size_t idx = ((size_t)(row * kv_heads + kvh) * num_splits + s) * G + g;
            float o2 = __ldcg(part_o + idx * D + d);
            merge_partial<1>(mm, ll, &o, __ldcg(part_ml + 2 * idx), __ldcg(part_ml + 2 * idx + 1), &o2);
        }
        out[(size_t)row * heads * D + (kvh * G + g) * D + d] = __float2half_rn(o / ll * kv_scale);
    }
}

// One kernel per (KV element type, head_dim, GQA group), named like the latency kernels: fp16 names carry no type
// (tinyrt_attn_decode_batch_d64_g8), int8 and fp8 do (tinyrt_attn_decode_batch_int8_d64_g8, ..._fp8_d64_g8). The
// latency kernel's argument list, so both launch alike.
#define ATTN_DECODE_BATCH_KERNEL_NAMED(NAME, MIN_BLOCKS, KV, D, G)                                                  \
    extern "C" __global__ void __launch_bounds__(BATCH_ATTN_THREADS(D), MIN_BLOCKS)                                   \
    NAME(const __half* qkv, int qkv_stride, KV::T* k_cache, KV::T* v_cache, const int* positions,                     \
        const int* row_seq, const int* block_tables, int table_width, int block_size, int heads, int kv_heads,       \
        int split_len, int num_splits, float scale, float* part_o, float* part_ml, int* counters, __half* out,       \
        const float* cos_t, const float* sin_t, const int* slots, int fuse_rope, float kv_scale) {                    \
        PDL_PROLOGUE;                                                                                                 \
        attn_decode_batch_body<D, G, KV>(qkv, qkv_stride, k_cache, v_cache, positions, row_seq, block_tables,        \
                                         table_width, block_size, heads, kv_heads, split_len, num_splits, scale,     \
                                         part_o, part_ml, counters, out, cos_t, sin_t, slots, fuse_rope, kv_scale);  \
    }
#define ATTN_DECODE_BATCH_KERNEL(P, KV, D, G)                                                                         \
    ATTN_DECODE_BATCH_KERNEL_NAMED(tinyrt_attn_decode_batch_##P##d##D##_g##G, BATCH_ATTN_MIN_BLOCKS(D), KV, D, G)

#define ATTN_DECODE_BATCH_KERNELS_D(P, KV, D)                                                                         \
    ATTN_DECODE_BATCH_KERNEL(P, KV, D, 1) ATTN_DECODE_BATCH_KERNEL(P, KV, D, 2) ATTN_DECODE_BATCH_KERNEL(P, KV, D, 4) \
    ATTN_DECODE_BATCH_KERNEL(P, KV, D, 6) ATTN_DECODE_BATCH_KERNEL(P, KV, D, 8)

#define ATTN_DECODE_BATCH_KERNELS(P, KV) ATTN_DECODE_BATCH_KERNELS_D(P, KV, 64) ATTN_DECODE_BATCH_KERNELS_D(P, KV, 128)

ATTN_DECODE_BATCH_KERNELS(, KvF16)
ATTN_DECODE_BATCH_KERNELS(int8_, KvInt8)
ATTN_DECODE_BATCH_KERNELS(fp8_, KvFp8)

// Occupancy variants for tuning on the GPU: TinyLlama's shape (fp16 cache, d64, g8) again with launch bounds for 6
// and 8 resident blocks per SM (at most ~80 / 64 registers a thread instead of 128), the same arithmetic;
// -Dtinyrt.cuda.batchAttentionOccupancy=6|8 picks one (KernelNames.attentionDecodeBatch).
ATTN_DECODE_BATCH_KERNEL_NAMED(tinyrt_attn_decode_batch_occ6_d64_g8, 6, KvF16, 64, 8)
ATTN_DECODE_BATCH_KERNEL_NAMED(tinyrt_attn_decode_batch_occ8_d64_g8, 8, KvF16, 64, 8)
