// Bandwidth-bound matrix-vector products for decode: out[t, r] = sum_c x[t, c] * w[r, c] for up to 8 token rows t.
// One warp per weight row (or ks warps, split-K), eight warps per 256-thread block; every lane keeps eight 16-byte weight loads in flight and
// reuses each loaded weight vector for all NT token rows, so the weights are read from memory exactly once.
// Requires k % 8 == 0 and 16-byte aligned rows (the host checks and falls back to cuBLAS otherwise).
#pragma once
#include "common.cuh"
#include "norm.cuh"

#define GEMV_THREADS 256
#define GEMV_UNROLL 8

// Split-K: `ks` warps (1, 2, 4 or 8) may share a weight row, each summing every ks-th group of 32 16-byte chunks,
// so long rows (the down projection, k = 5632) keep enough warps and loads in flight; their partial sums meet in
// shared memory. A block covers a group of 8 / ks rows at a time.
// Row groups: a grid smaller than the row groups (the host caps it at the blocks the GPU holds at once) walks
// groups blockIdx.x, + gridDim.x, ...: a block pays its launch and its norm prologue once rather than once per 8
// rows, and the rows run in one wave instead of two or three short ones. A full grid walks one group per block.
DEV int gemv_groups(int rows, int rows_per_group) { return (rows + rows_per_group - 1) / rows_per_group; }
DEV int gemv_row(int group, int ks) { return group * (GEMV_THREADS / 32 / ks) + (threadIdx.x >> 5) / ks; }
DEV int gemv_slice(int ks) { return (threadIdx.x >> 5) % ks; }
// The next group this block walks: its first rows start into L2 while the current group computes.
DEV void prefetch_next_group(const void* w, int m, size_t row_bytes, int group, int rows_per_group,
                             size_t cap = PREFETCH_MAX_BYTES) {
    int next = group + (int)gridDim.x;
    if (next * rows_per_group < m) prefetch_rows_l2(w, m, row_bytes, next * rows_per_group, rows_per_group, cap);
}

// The PDL launch of a GEMV block with the prefetch of its weight rows (row_bytes each): the 8 / ks rows gemv_row
// gives the block, or for the fused gate|up weight (gate_up) the block's gate rows and their up rows. The wait for
// the previous kernel comes later, inside the body, once the first pass of weight loads is in flight (see Ready).
DEV void gemv_prologue(const void* w, int m, size_t row_bytes, int ks) {
    pdl_launch();
    prefetch_rows_l2(w, m, row_bytes, blockIdx.x * (GEMV_THREADS / 32 / ks), GEMV_THREADS / 32 / ks);
}
DEV void gate_up_prologue(const void* w, int inner, size_t row_bytes) {
    pdl_launch();
    int first = blockIdx.x * (GEMV_THREADS / 32);
    prefetch_rows_l2(w, inner, row_bytes, first, GEMV_THREADS / 32, PREFETCH_MAX_BYTES / 2);
    prefetch_rows_l2(static_cast<const char*>(w) + (size_t)inner * row_bytes, inner, row_bytes, first,
                     GEMV_THREADS / 32, PREFETCH_MAX_BYTES / 2);
}

// What a GEMV body calls, from every thread of the block, between issuing its first pass of weight loads and using
// x: waits for the previous kernel (PDL) and returns x, or also runs the fused RMSNorm prologue and returns the
// normed row in shared memory. Weights never depend on an earlier kernel, so a block that starts early holds its
// first weights in registers when the wait releases, and the norm's round trip overlaps their loads.
struct ReadyX {
    const __half* x;
    DEV const __half* operator()() const {
        pdl_wait();
        return x;
    }
    DEV int up_offset() const { return 0; }  // gate|up: the up rows read x too
};
struct ReadyNorm {
    const float* residual;
    const __half* gamma;
    float eps;
    __half* normed;
    int norm_threads, cols;
    int per = 8;  // columns per 16-byte weight chunk of the product that reads x: its layout (xs_piece)
    DEV const __half* operator()() const;  // after norm_prologue, below
    DEV int up_offset() const { return 0; }
};

// acc[t] summed over the lanes of each warp, then over the ks warps of a row: the slice-0 warp ends with the totals.
// Every warp of the block must call it (it synchronizes when ks > 1).
template <int NT>
DEV void gemv_reduce(float* acc, int ks) {
#pragma unroll
    for (int t = 0; t < NT; t++) acc[t] = warp_sum(acc[t]);
    if (ks == 1) return;
    __shared__ float part[GEMV_THREADS / 32][NT];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();
    if (lane == 0) {
#pragma unroll
        for (int t = 0; t < NT; t++) part[warp][t] = acc[t];
    }
    __syncthreads();
    if (warp % ks == 0) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            float total = part[warp][t];
            for (int s = 1; s < ks; s++) total += part[warp + s][t];
            acc[t] = total;
        }
    }
}

// x is read through L1 from global memory, or (XS) from the block's shared memory, where a norm prologue put it.
template <bool XS>
DEV uint4 load_x(const __half* p) {
    if constexpr (XS) {
        return *reinterpret_cast<const uint4*>(p);
    } else {
        return load_cached(p);
    }
}

// One pass of a lane over a row: chunks base, base + step, ... (U of them), zeros past the row's end
template <int U>
DEV void load_pass(uint4* wv, const uint4* wrow, int base, int step, int chunks) {
#pragma unroll
    for (int u = 0; u < U; u++) {
        int c = base + step * u;
        wv[u] = c < chunks ? load_streaming(wrow + c) : make_uint4(0u, 0u, 0u, 0u);
    }
}

// eight fp32 values another block may have written in this launch (load_coherent)
DEV void load8_coherent(const float* p, float* v) {
    uint4 a = load_coherent(static_cast<const void*>(p)), b = load_coherent(static_cast<const void*>(p + 4));
    unsigned bits[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
    for (int e = 0; e < 8; e++) v[e] = __uint_as_float(bits[e]);
}

// Where the 8 columns from `col` (a multiple of 8) sit in a row x of k columns staged in shared memory for a product
// whose 16-byte weight chunks hold `per` columns: piece-major (every chunk's first 8 columns, then every chunk's
// second 8, ...), so the lanes of a warp, which take chunks lane, lane + 32, ..., read consecutive 16 bytes at once.
// In column order a W4 warp's x reads lay 64 bytes apart (4-way shared-memory bank conflicts), a W8 warp's 32 (2-way);
// for fp16 (per = 8) the two orders are the same.
DEV int xs_piece(int col, int per, int k) { return ((col % per) / 8 * (k / per) + col / per) * 8; }

// Fused RMSNorm prologue of a one-row GEMV: the v8 norm of the fp32 residual row (norm_v8_body's arithmetic over the
// same partition of norm_threads threads, so the same bits as the norm kernel) into dynamic shared memory [cols]
// fp16, laid out for a product of `per` columns per chunk (xs_piece), which the GEMV then reads as x; block 0 also
// stores it to `normed`, the norm op's output, in column order. Every thread of the block calls it.
DEV const __half* norm_prologue(const float* __restrict__ residual, const __half* __restrict__ gamma, float eps,
                                __half* __restrict__ normed, int norm_threads, int cols, int per = 8) {
    DYNAMIC_SHARED(__half, xs);
    __shared__ float scratch[32];
    constexpr int CPT = NORM_CHUNKS_PER_THREAD;
    int chunks = cols / 8, tid = threadIdx.x;
    bool mine = tid < norm_threads;
    float v[CPT][8], g[CPT][8];
    float ss = 0.f;
#pragma unroll
    for (int u = 0; u < CPT; u++) {
        int c = tid + u * norm_threads;
        if (mine && c < chunks) {
            load8_coherent(residual + c * 8, v[u]);
            load8(gamma + c * 8, g[u]);
#pragma unroll
            for (int e = 0; e < 8; e++) ss += v[u][e] * v[u][e];
        }
    }
    float scale = rsqrtf(block_sum(ss, scratch) / cols + eps);
#pragma unroll
    for (int u = 0; u < CPT; u++) {
        int c = tid + u * norm_threads;
        if (mine && c < chunks) {
            float o[8];
#pragma unroll
            for (int e = 0; e < 8; e++) o[e] = g[u][e] * (v[u][e] * scale);
            uint4 packed = pack8(o);
            *reinterpret_cast<uint4*>(xs + xs_piece(c * 8, per, cols)) = packed;
            if (blockIdx.x == 0) *reinterpret_cast<uint4*>(normed + c * 8) = packed;
        }
    }
    __syncthreads();
    return xs;
}

DEV const __half* ReadyNorm::operator()() const {
    pdl_wait();
    return norm_prologue(residual, gamma, eps, normed, norm_threads, cols, per);
}

// Fused residual add epilogue: out = fp16(acc) as the product's output, and residual += that fp16 value, as the
// add + norm kernel would add it (the same bits).
DEV void store_res(__half* out, float* residual, size_t i, float acc) {
    __half h = __float2half_rn(acc);
    out[i] = h;
    residual[i] = load_coherent(residual + i) + __half2float(h);
}
DEV void store_res(float* out, float*, size_t i, float acc) { out[i] = acc; }  // never used with a residual

// A GEMV row's results (lane 0 of the row's slice-0 warp): out[t, row] = acc[t], or with `residual` the fused
// residual add's epilogue.
template <int NT, typename TOut>
DEV void store_row(TOut* out, float* residual, int m, int row, const float* acc) {
#pragma unroll
    for (int t = 0; t < NT; t++) {
        if (residual != nullptr) {
            store_res(out, residual, (size_t)t * m + row, acc[t]);
        } else {
            out[(size_t)t * m + row] = from_f32<TOut>(acc[t]);
        }
    }
}

// The gate|up epilogue of a warp: its lanes' partial sums (times the rows' scales) summed, act[t, row] =
// silu(gate) * up rounded to fp16 once, written by lane 0. Every lane of the warp calls it.
template <int NT>
DEV void store_swiglu(__half* act, int inner, int row, float* ag, float* au, float gate_scale,
                      float up_scale) {
#pragma unroll
    for (int t = 0; t < NT; t++) {
        ag[t] = warp_sum(ag[t]) * gate_scale;
        au[t] = warp_sum(au[t]) * up_scale;
    }
    if ((threadIdx.x & 31) == 0) {
#pragma unroll
        for (int t = 0; t < NT; t++) act[(size_t)t * inner + row] = __float2half_rn(silu(ag[t]) * au[t]);
    }
}

// x [NT, k] is small and read through L1 by every warp of the block (or from shared memory: XS). With `residual`
// (NT = 1, fp16 out): the fused residual add epilogue. ready() (every thread calls it) gives x.
template <int NT, typename TOut, bool XS = false, class Ready>
DEV void gemv_body(const __half* __restrict__ w, Ready ready, TOut* __restrict__ out, int m, int k, int ks,
                   float* __restrict__ residual = nullptr) {
    int lane = threadIdx.x & 31, slice = gemv_slice(ks);
    int rpg = GEMV_THREADS / 32 / ks, groups = gemv_groups(m, rpg);
    int step = 32 * ks;
    int group = blockIdx.x, row, chunks, base;
    bool active;
    const uint4* wrow;
    uint4 wv[GEMV_UNROLL];
    auto start_row = [&] {  // the group's row for this warp, and its first pass of loads
        row = gemv_row(group, ks);
        active = row < m;  // inactive warps still join the split-K reduction
        wrow = reinterpret_cast<const uint4*>(w + (size_t)(active ? row : 0) * k);
        chunks = active ? k >> 3 : 0;
        base = 32 * slice + lane;
        load_pass<GEMV_UNROLL>(wv, wrow, base, step, chunks);
    };
    start_row();
    const __half* x = ready();
    for (;;) {  // uniform per block
        prefetch_next_group(w, m, 2 * (size_t)k, group, rpg);
        float acc[NT];
#pragma unroll
        for (int t = 0; t < NT; t++) acc[t] = 0.f;
        for (;;) {
#pragma unroll
            for (int u = 0; u < GEMV_UNROLL; u++) {
                int c = base + step * u;
                if (c < chunks) {
                    float wf[8];
                    unpack8(wv[u], wf);
#pragma unroll
                    for (int t = 0; t < NT; t++) {
                        float xf[8];
                        unpack8(load_x<XS>(x + (size_t)t * k + (size_t)c * 8), xf);
#pragma unroll
                        for (int e = 0; e < 8; e++) acc[t] = fmaf(wf[e], xf[e], acc[t]);
                    }
                }
            }
            base += step * GEMV_UNROLL;
            if (base >= chunks) break;
            load_pass<GEMV_UNROLL>(wv, wrow, base, step, chunks);
        }
        gemv_reduce<NT>(acc, ks);
        if (active && slice == 0 && lane == 0) store_row<NT>(out, residual, m, row, acc);
        group += gridDim.x;
        if (group >= groups) break;
        start_row();
    }
}
// The gate|up product with SwiGLU in its epilogue: w is the fused [2 * inner, k] weight (gate rows, then up rows);
// warp i computes gate row i and up row inner + i together (16 loads in flight per lane) and writes
// act[t, i] = silu(gate) * up, rounded to fp16 once. act [NT, inner].
template <int NT, bool XS = false, class Ready>
DEV void gemv_gate_up_body(const __half* __restrict__ w, Ready ready, __half* __restrict__ act, int inner, int k) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    constexpr int RPG = GEMV_THREADS / 32;
    int groups = gemv_groups(inner, RPG);
    int group = blockIdx.x, row, chunks, base;
    bool active;
    const uint4 *wg, *wu;
    uint4 g4[GEMV_UNROLL], u4[GEMV_UNROLL];
    auto start_row = [&] {
        row = group * RPG + warp;
        active = row < inner;  // inactive warps still call ready()
        wg = reinterpret_cast<const uint4*>(w + (size_t)(active ? row : 0) * k);
        wu = reinterpret_cast<const uint4*>(w + (size_t)(active ? inner + row : 0) * k);
        chunks = active ? k >> 3 : 0;
        base = lane;
        load_pass<GEMV_UNROLL>(g4, wg, base, 32, chunks);
        load_pass<GEMV_UNROLL>(u4, wu, base, 32, chunks);
    };
    start_row();
    const __half* x = ready();
    for (;;) {  // no block-wide synchronization below: warps run ahead freely
        prefetch_next_group(w, inner, 2 * (size_t)k, group, RPG, PREFETCH_MAX_BYTES / 2);
        prefetch_next_group(w + (size_t)inner * k, inner, 2 * (size_t)k, group, RPG, PREFETCH_MAX_BYTES / 2);
        float ag[NT], au[NT];
#pragma unroll
        for (int t = 0; t < NT; t++) ag[t] = au[t] = 0.f;
        for (;;) {
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
                        unpack8(load_x<XS>(x + (size_t)t * k + (size_t)c * 8), xf);
#pragma unroll
                        for (int e = 0; e < 8; e++) {
                            ag[t] = fmaf(gf[e], xf[e], ag[t]);
                            au[t] = fmaf(uf[e], xf[e], au[t]);
                        }
                    }
                }
            }
            base += 32 * GEMV_UNROLL;
            if (base >= chunks) break;
            load_pass<GEMV_UNROLL>(g4, wg, base, 32, chunks);
            load_pass<GEMV_UNROLL>(u4, wu, base, 32, chunks);
        }
        if (active) store_swiglu<NT>(act, inner, row, ag, au, 1.f, 1.f);  // uniform per warp
        group += gridDim.x;
        if (group >= groups) break;
        start_row();
    }
}

#define GEMV_KERNELS(NT)                                                                                              \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_n##NT##_f16(                               \
        const __half* w, const __half* x, __half* out, int m, int k, int ks) { gemv_prologue(w, m, 2 * (size_t)k, ks);  gemv_body<NT, __half>(w, ReadyX{x}, out, m, k, ks); } \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_n##NT##_f32(                               \
        const __half* w, const __half* x, float* out, int m, int k, int ks) { gemv_prologue(w, m, 2 * (size_t)k, ks);  gemv_body<NT, float>(w, ReadyX{x}, out, m, k, ks); } \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_gate_up_n##NT(                             \
        const __half* w, const __half* x, __half* act, int inner, int k) { gate_up_prologue(w, inner, 2 * (size_t)k); gemv_gate_up_body<NT>(w, ReadyX{x}, act, inner, k); }

GEMV_KERNELS(1)
GEMV_KERNELS(2)
GEMV_KERNELS(3)
GEMV_KERNELS(4)
GEMV_KERNELS(5)
GEMV_KERNELS(6)
GEMV_KERNELS(7)
GEMV_KERNELS(8)

// Batch-1 decode kernels with the block-boundary ops fused in: the residual add into the product that feeds it
// (o_proj, down) and the following RMSNorm into the products that read it (q|k|v, gate|up); dynamic shared memory
// 2 * k bytes for the norm prologue.
extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_res_f16(
    const __half* w, const __half* x, __half* out, float* residual, int m, int k, int ks) {
    gemv_prologue(w, m, 2 * (size_t)k, ks);
    gemv_body<1, __half>(w, ReadyX{x}, out, m, k, ks, residual);
}
// (The norm kernel is held to 80 registers, three blocks per SM: with the first weight pass held across the norm it
// would take 90, and the QKV product's 320 blocks two waves; on the H100 the fp16 decode step went 1161 -> 1131 us.)
extern "C" __global__ void __launch_bounds__(GEMV_THREADS, 3) tinyrt_gemv_norm_f16(
    const __half* w, const float* residual, const __half* gamma, float eps, __half* normed, int norm_threads,
    __half* out, int m, int k, int ks) {
    gemv_prologue(w, m, 2 * (size_t)k, ks);
    gemv_body<1, __half, true>(w, ReadyNorm{residual, gamma, eps, normed, norm_threads, k}, out, m, k, ks);
}
extern "C" __global__ void __launch_bounds__(GEMV_THREADS) tinyrt_gemv_gate_up_norm(
    const __half* w, const float* residual, const __half* gamma, float eps, __half* normed, int norm_threads,
    __half* act, int inner, int k) {
    gate_up_prologue(w, inner, 2 * (size_t)k);
    gemv_gate_up_body<1, true>(w, ReadyNorm{residual, gamma, eps, normed, norm_threads, k}, act, inner, k);
}
