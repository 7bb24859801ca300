// Staged batch-1 GEMVs: the fused decode kernels of gemv.cuh and qgemv.cuh (residual add in the epilogue, RMSNorm
// in the prologue, gate|up with SwiGLU) with their weight rows streamed into a ring in shared memory by cp.async
// instead of into registers.
//
// Why: the register kernels keep a few 16-byte loads per lane in flight and walk their row groups in dependent
// rounds (the decode-layer trace of 2026-11-27 showed the int4 gate|up product as three bursts with a latency bubble
// after each), and what they load before the PDL wait is one pass. Here a lane keeps D passes of U chunks in flight,
// about 100 KB per block, all issued before the PDL wait. With one block per multiprocessor (the host's default) the
// next kernel's block fits beside it and could fill its own ring while this one computes. Measured on the H100
// (6e69008) it did not pay: one block per SM was 15-30 % slower per decode step than the register kernels, two within
// 2 %, so the host takes these kernels only with -Dtinyrt.cuda.stagedGemv=true.
//
// Work split, as the register kernels with split-K 1: warp W of a block takes row g * 8 + W of each row group
// g = blockIdx.x + i * gridDim.x (gate|up: that gate row, then its up row), lane L the chunks L, L + 32, ... of
// the row; a pass is U of them. A lane's passes form one sequence over its groups and rows; pass n lives in ring
// slot n % D, which only that lane writes and reads, so nothing but the norm prologue synchronizes the block.
// The products are summed in the register kernels' order: the same bits as split-K 1.
//
// Dynamic shared memory: [x normed by the prologue: 2k bytes, norm kernels only] [weights: D * U * 256 uint4]
// [scale words: D * S * 256 uint32, S = U for W4 (the chunk's group scale), 1 for W8 (the row scale), 0 for fp16].
// KernelNames.stagedShared mirrors these sizes; the kernel traps if it gets less.
#pragma once
#include "gemv.cuh"
#include "qgemv.cuh"

struct StagedF16 {};  // the fp16 weights' format tag
template <class Q>
struct Staged;
template <>
struct Staged<StagedF16> {
    static constexpr int PER_CHUNK = 8, BITS = 16, U = 8, D = 3;
    static constexpr bool GROUP_SCALES = false, ROW_SCALE = false;
};
template <>
struct Staged<QW8> {
    static constexpr int PER_CHUNK = 16, BITS = 8, U = 4, D = 6;
    static constexpr bool GROUP_SCALES = false, ROW_SCALE = true;
};
template <>
struct Staged<QW4> {
    static constexpr int PER_CHUNK = 32, BITS = 4, U = 2, D = 10;
    static constexpr bool GROUP_SCALES = true, ROW_SCALE = false;
};

// acc plus one chunk's product with x (x at the chunk's first 8 columns, the next 8 `stride` halves on: xs_piece),
// as the register kernels compute it
template <class Q, bool XS>
DEV float staged_chunk(const uint4& raw, const __half* x, int stride, float scale, float acc) {
    if constexpr (Staged<Q>::BITS == 16) {
        float wf[8], xf[8];
        unpack8(raw, wf);
        unpack8(load_x<XS>(x), xf);
#pragma unroll
        for (int e = 0; e < 8; e++) acc = fmaf(wf[e], xf[e], acc);
        return acc;
    } else {
        return fmaf(Q::template dot_h2<XS>(raw, x, stride), scale * Q::HALF2_SCALE, acc);
    }
}

// out[row] (or with `residual` the residual add's epilogue; GATE_UP: act[row] = silu(gate) * up) for rows [0, m) of
// w [m, k] (GATE_UP: [2m, k]); x from ready(), every thread of the block calls this once.
template <class Q, bool NORM, bool GATE_UP, class Ready>
DEV void staged_body(const uint8_t* __restrict__ w, const void* __restrict__ scales, int group_size, Ready ready,
                     __half* __restrict__ out, float* __restrict__ residual, int m, int k) {
    using S = Staged<Q>;
    constexpr int U = S::U, D = S::D, T = GEMV_THREADS, RPG = T / 32, SEGS = GATE_UP ? 2 : 1;
    constexpr int SW = S::GROUP_SCALES ? U : S::ROW_SCALE ? 1 : 0;  // scale words per slot and thread
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int groups = gemv_groups(m, RPG), chunks = k / S::PER_CHUNK;
    const int passes = ((chunks + 31) / 32 + U - 1) / U;  // per row
    const int per_group = SEGS * passes;
    const int mine = (int)blockIdx.x < groups ? (groups - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0;
    const int total = mine * per_group;
    const size_t row_bytes = (size_t)k * S::BITS / 8;
    const int scale_groups = S::GROUP_SCALES ? k / group_size : 0;
    DYNAMIC_SHARED(uint4, smem);
    uint4* ring = smem + (NORM ? k / 8 : 0);
    unsigned* words = reinterpret_cast<unsigned*>(ring + D * U * T);
#ifdef __CUDA_ARCH__
    if (dynamic_shared_bytes() < (NORM ? 2u * k : 0u) + 16u * D * U * T + 4u * D * SW * T) __trap();
#endif
    // the row of pass n (m or more: no row for this warp), its segment (gate 0, up 1) and pass within the row
    auto locate = [&](int n, int& seg, int& p) {
        int g = n / per_group, r = n - g * per_group;
        seg = r / passes;
        p = r - seg * passes;
        return ((int)blockIdx.x + g * (int)gridDim.x) * RPG + warp;
    };
    auto issue = [&](int n) {  // pass n into slot n % D; a commit group per pass, empty past the end
        if (n < total) {
            int seg, p, row = locate(n, seg, p);
            if (row < m) {
                int wr = row + seg * m;
                const uint8_t* wrow = w + (size_t)wr * row_bytes;
                int slot = n % D;
#pragma unroll
                for (int u = 0; u < U; u++) {
                    int c = lane + 32 * (p * U + u);
                    if (c < chunks) {
                        cp_async16(ring + (slot * U + u) * T + tid, wrow + (size_t)c * 16);
                        if constexpr (S::GROUP_SCALES) {  // the 4-byte word holding the chunk's fp16 group scale
                            size_t idx = (size_t)wr * scale_groups + (size_t)c * S::PER_CHUNK / group_size;
                            cp_async4(words + (slot * SW + u) * T + tid,
                                      static_cast<const __half*>(scales) + (idx & ~(size_t)1));
                        }
                    }
                }
                if constexpr (S::ROW_SCALE) {
                    if (p == passes - 1) cp_async4(words + slot * T + tid, static_cast<const float*>(scales) + wr);
                }
            }
        }
        cp_async_commit();
    };
#pragma unroll 1
    for (int n = 0; n < D; n++) issue(n);
    const __half* x = ready();
    const __half* xu = x + ready.up_offset();
    float ag = 0.f, au = 0.f, gs = 1.f, us = 1.f;
#pragma unroll 1
    for (int n = 0; n < total; n++) {
        cp_async_wait<D - 1>();
        int seg, p, row = locate(n, seg, p);
        int slot = n % D;
        if (row < m) {  // warp-uniform
            const __half* xs = seg == 0 ? x : xu;
            float a = seg == 0 ? ag : au;
#pragma unroll
            for (int u = 0; u < U; u++) {
                int c = lane + 32 * (p * U + u);
                if (c < chunks) {
                    float scale = 1.f;
                    if constexpr (S::GROUP_SCALES) {
                        size_t idx = (size_t)(row + seg * m) * scale_groups + (size_t)c * S::PER_CHUNK / group_size;
                        unsigned word = words[(slot * SW + u) * T + tid];
                        scale = __half2float(__ushort_as_half(static_cast<unsigned short>(word >> (16 * (idx & 1)))));
                    }
                    // x from the norm prologue: piece-major (xs_piece); from global memory: column order
                    const __half* xc = NORM ? xs + (size_t)c * 8 : xs + (size_t)c * S::PER_CHUNK;
                    a = staged_chunk<Q, NORM>(ring[(slot * U + u) * T + tid], xc, NORM ? chunks * 8 : 8, scale, a);
                }
            }
            if (seg == 0) {
                ag = a;
            } else {
                au = a;
            }
            if (p == passes - 1) {  // the row's last pass
                float rs = 1.f;
                if constexpr (S::ROW_SCALE) rs = __uint_as_float(words[slot * T + tid]);
                if (seg == 0) {
                    gs = rs;
                } else {
                    us = rs;
                }
                if (seg == SEGS - 1) {
                    if constexpr (GATE_UP) {
                        store_swiglu<1>(out, m, row, &ag, &au, gs, us);
                    } else {
                        ag = warp_sum(ag) * gs;
                        if (lane == 0) store_row<1, __half>(out, residual, m, row, &ag);
                    }
                    ag = au = 0.f;
                }
            }
        }
        issue(n + D);  // into the slot just read, by the same thread
    }
    cp_async_wait<0>();
}

#define STAGED_FUSED(PREFIX, FMT_SUFFIX, WT, Q, QARGS, QPASS)                                                       \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS, 2) PREFIX##staged_res##FMT_SUFFIX(                   \
        const WT* w, QARGS const __half* x, __half* out, float* residual, int m, int k, int ks) {                   \
        pdl_launch();                                                                                                \
        staged_body<Q, false, false>(reinterpret_cast<const uint8_t*>(w), QPASS ReadyX{x}, out, residual, m, k);    \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS, 2) PREFIX##staged_norm##FMT_SUFFIX(                  \
        const WT* w, QARGS const float* residual, const __half* gamma, float eps, __half* normed, int norm_threads,  \
        __half* out, int m, int k, int ks) {                                                                         \
        pdl_launch();                                                                                                \
        staged_body<Q, true, false>(reinterpret_cast<const uint8_t*>(w), QPASS                                      \
                                    ReadyNorm{residual, gamma, eps, normed, norm_threads, k, Staged<Q>::PER_CHUNK},  \
                                    out, nullptr, m, k);                                                             \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(GEMV_THREADS, 2) PREFIX##staged_gate_up_norm(                      \
        const WT* w, QARGS const float* residual, const __half* gamma, float eps, __half* normed, int norm_threads,  \
        __half* act, int inner, int k) {                                                                             \
        pdl_launch();                                                                                                \
        staged_body<Q, true, true>(reinterpret_cast<const uint8_t*>(w), QPASS                                       \
                                   ReadyNorm{residual, gamma, eps, normed, norm_threads, k, Staged<Q>::PER_CHUNK},   \
                                   act, nullptr, inner, k);                                                          \
    }

#define STAGED_QARGS const void *scales, int group, const float *pre, int pre_split,
#define STAGED_QPASS scales, group,
#define STAGED_NOARGS
#define STAGED_NOPASS nullptr, 0,
// fp16: tinyrt_gemv_staged_res_f16, tinyrt_gemv_staged_norm_f16, tinyrt_gemv_staged_gate_up_norm
STAGED_FUSED(tinyrt_gemv_, _f16, __half, StagedF16, STAGED_NOARGS, STAGED_NOPASS)
// tinyrt_qgemv_w8_staged_res, ..._norm, ..._gate_up_norm (the pre-scale arguments are there to match the register
// kernels' and must be null: the host keeps pre-scaled weights on the _pre_ kernels)
STAGED_FUSED(tinyrt_qgemv_w8_, , uint8_t, QW8, STAGED_QARGS, STAGED_QPASS)
STAGED_FUSED(tinyrt_qgemv_w4_, , uint8_t, QW4, STAGED_QARGS, STAGED_QPASS)
