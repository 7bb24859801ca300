// The decode-layer kernel: a whole batch-1 decoder layer in one launch. Its five stages are the five fused launches
// it replaces (CudaBackend holds them back and launches this instead, DecodeLayerFusion), run by one grid of at most
// the blocks the GPU holds at once, with a split grid barrier (grid_arrive as a block finishes a stage, grid_wait
// where the next stage first reads another block's output) wherever one launch would have waited for the previous:
//   1. RMSNorm prologue + q|k|v GEMV        (gemv_body, after the PDL wait for the previous kernel)
//   2. RoPE + KV write + decode attention   (attn_decode_body, one head per work item, T = 256)
//   3. o_proj GEMV + residual add           (x staged into shared memory after the barrier)
//   4. RMSNorm prologue + gate|up + SwiGLU
//   5. down GEMV + residual add
// Between arriving and waiting, each GEMV stage issues its first pass of weight loads (as a PDL launch does before
// its wait), so the barrier's round trips overlap the weight stream. Weights never depend on an earlier stage, so a
// block may also pull its whole share of later stages' weights into L2 (layer_prefetch, a tuning knob). A kernel
// boundary costs a grid-wide drain, a fresh ramp of blocks and their prologues; the barrier costs one atomic per
// block and a spin. Stage inputs written during the launch are read through L2 (load_coherent); shared memory never
// carries anything across a barrier. -Dtinyrt.cuda.layerTrace=true stamps the GPU clock at each stage boundary.
#pragma once
#include "common.cuh"
#include "gemv.cuh"
#include "qgemv.cuh"
#include "attention.cuh"

#define LAYER_THREADS 256

// ready() of a GEMV stage after the first: the barrier, then the norm prologue (as ReadyNorm without the PDL wait)
struct ReadyGridNorm {
    unsigned long long* bar;
    unsigned long long target;
    const float* residual;
    const __half* gamma;
    float eps;
    __half* normed;
    int norm_threads, cols;
    int per = 8;  // x's layout in shared memory (xs_piece)
    DEV const __half* operator()() const {
        grid_wait(bar, target);
        return norm_prologue(residual, gamma, eps, normed, norm_threads, cols, per);
    }
    DEV int up_offset() const { return 0; }
};

// ready() of a GEMV stage that reads an earlier stage's output: the barrier, then x [k] staged into shared memory
struct ReadyGridX {
    unsigned long long* bar;
    unsigned long long target;
    const __half* x;
    int k;
    int per = 8;  // x's layout in shared memory (xs_piece)
    DEV const __half* operator()() const {
        grid_wait(bar, target);
        DYNAMIC_SHARED(__half, xs);
        for (int c = threadIdx.x * 8; c < k; c += blockDim.x * 8) {
            *reinterpret_cast<uint4*>(xs + xs_piece(c, per, k)) = load_coherent(x + c);
        }
        __syncthreads();
        return xs;
    }
    DEV int up_offset() const { return 0; }
};

// A stage's ready() that also stamps the moment x is ready (the trace, below; slot null: no trace)
template <class R>
struct Stamped {
    R ready;
    unsigned long long* slot;
    DEV const __half* operator()() const {
        const __half* x = ready();
        stamp(slot);
        return x;
    }
    DEV int up_offset() const { return ready.up_offset(); }
};
template <class R>
DEV Stamped<R> stamped(R ready, unsigned long long* slot) { return Stamped<R>{ready, slot}; }

// The stage trace: with a non-null `trace`, thread 0 of each block writes the GPU clock (ns) at these points to
// trace[blockIdx.x * LAYER_TRACE_EVENTS + event] (CudaBackend -Dtinyrt.cuda.layerTrace=true, LayerTrace.java). A
// stage's end is thread 0's: its other warps may still be finishing their rows.
#define LAYER_TRACE_EVENTS 12
enum LayerEvent {
    EV_START, EV_QKV_READY, EV_QKV_END, EV_ATTN_READY, EV_ATTN_END, EV_O_READY, EV_O_END, EV_GATE_UP_READY,
    EV_GATE_UP_END, EV_DOWN_READY, EV_DOWN_END, EV_EXIT
};
DEV unsigned long long* trace_slot(unsigned long long* trace, int event) {
    return trace == nullptr ? nullptr : trace + (size_t)blockIdx.x * LAYER_TRACE_EVENTS + event;
}

// The attention stage's wait: the block's first work item to get there takes the barrier.
struct GridWaitOnce {
    unsigned long long* bar;
    unsigned long long target;
    bool* done;
    unsigned long long* slot;
    DEV void operator()() const {
        if (!*done) {
            grid_wait(bar, target);
            stamp(slot);
            *done = true;
        }
    }
};

// Stage 2: work items (head, row, split) walked by the blocks; a block with none (or whose items all return before
// their wait) still takes the barrier, so every block takes each barrier exactly once.
template <int D, typename KV>
DEV void layer_attention(unsigned long long* bar, unsigned long long target, unsigned long long* ready_slot,
                         int rows, const __half* qkv, int qkv_stride, typename KV::T* k_cache,
                         typename KV::T* v_cache, const int* positions, const int* row_seq,
                         const int* block_tables, int table_width, int block_size, int heads, int kv_heads,
                         int split_len, int num_splits, float scale, float* part_o, float* part_ml,
                         int* counters, __half* out, const float* cos_t, const float* sin_t, const int* slots,
                         int fuse_rope, float kv_scale) {
    bool done = false;
    int items = heads * rows * num_splits;
    for (int v = blockIdx.x; v < items; v += gridDim.x) {  // uniform per block
        __syncthreads();  // the previous item's shared memory has been read
        int hb = v % heads, rest = v / heads;
        attn_decode_body<D, 1, KV, LAYER_THREADS>(hb, rest % rows, rest / rows, heads,
                                                  GridWaitOnce{bar, target, &done, ready_slot}, qkv, qkv_stride,
                                                  k_cache, v_cache, positions, row_seq, block_tables, table_width,
                                                  block_size, heads, kv_heads, split_len, num_splits, scale, part_o,
                                                  part_ml, counters, out, cos_t, sin_t, slots, fuse_rope, kv_scale);
    }
    if (!done) {
        grid_wait(bar, target);
        stamp(ready_slot);
    }
}

// The parameters of each stage, in the order of the launch it replaces (the host concatenates those launches'
// arguments after the barrier counter and the attention's row count).
#define LAYER_ATTN_PARAMS                                                                                            \
    const __half *aqkv, int aqkv_stride, __half *ak_cache, __half *av_cache, const int *apositions,                  \
        const int *arow_seq, const int *ablock_tables, int atable_width, int ablock_size, int aheads, int akv_heads, \
        int asplit_len, int anum_splits, float ascale, float *apart_o, float *apart_ml, int *acounters,              \
        __half *aout, const float *acos_t, const float *asin_t, const int *aslots, int afuse_rope, float akv_scale
#define LAYER_ATTN_STAGE(D)                                                                                          \
    layer_attention<D, KvF16>(bar, arrived, slot(EV_ATTN_READY), rows, aqkv, aqkv_stride, ak_cache, av_cache,        \
                              apositions, arow_seq, ablock_tables, atable_width, ablock_size, aheads, akv_heads,     \
                              asplit_len, anum_splits, ascale, apart_o, apart_ml, acounters, aout, acos_t, asin_t,   \
                              aslots, afuse_rope, akv_scale)

// A block's share of a weight's rows: row groups blockIdx.x, + gridDim.x, ... of rpg rows (row_bytes each), as the
// GEMV bodies walk them, prefetched into L2 in that order, at most `cap` bytes.
DEV void prefetch_share(const void* w, int m, size_t row_bytes, int rpg, size_t cap) {
    size_t done = 0;
    for (int g = blockIdx.x; g * rpg < m && done < cap; g += gridDim.x) {
        int rows = rpg < m - g * rpg ? rpg : m - g * rpg;
        size_t bytes = (size_t)rows * row_bytes;
        bytes = bytes < cap - done ? bytes : cap - done;
        prefetch_l2(static_cast<const char*>(w) + (size_t)g * rpg * row_bytes, bytes);
        done += bytes;
    }
}

// Whether the share of stage `stage` is prefetched at point `at`: at = 1 is the kernel's start, at = s the moment the
// block has finished stage s - 1 (at = 6: its end). Stage 6 is the next layer's q|k|v product, whose kernel has the
// same grid and so the same shares: prefetched as a block leaves, its first bytes are on the way while that kernel
// launches (it cannot start early: two blocks of this kernel fill an SM's registers). With lookahead L >= 1, stages
// 1..L go at the start and stage s + L - 1 when stage s is reached, so a block that finishes early streams the next
// stage's weights while others catch up. L = 0 prefetches nothing beyond the GEMV bodies' own next-group prefetch.
DEV bool layer_prefetch_due(int stage, int at, int lookahead) {
    if (lookahead <= 0) return false;
    return at == 1 ? stage <= lookahead : stage == at + lookahead - 1;
}

// Row bytes of a stage's weight, and of its scales (none for fp16)
struct F16Rows {
    DEV static size_t row_bytes(int k) { return 2 * (size_t)k; }
    DEV static size_t scale_row_bytes(int, int) { return 0; }
};
template <class F>
struct QRows {
    DEV static size_t row_bytes(int k) { return (size_t)k * F::BITS / 8; }
    DEV static size_t scale_row_bytes(int k, int group) { return F::BITS == 4 ? 2 * (size_t)(k / group) : 4; }
};

// The shares due at `at`: the four GEMV stages' weights (and scales) in the layout their bodies walk (rows per group
// 8 / ks; gate|up: the block's gate rows and their up rows, eight each).
template <class R>
DEV void layer_prefetch(int at, int lookahead, size_t cap, const void* nqw, const void* nqs, const void* qw,
                        const void* qs, int qg, int qm, int qk, int qks, const void* ow, const void* os, int og,
                        int om, int ok, int oks, const void* gw,
                        const void* gs, int gg, int inner, int gk, const void* dw, const void* ds, int dg, int dm,
                        int dk, int dks) {
    if (layer_prefetch_due(1, at, lookahead)) {
        prefetch_share(qw, qm, R::row_bytes(qk), 8 / qks, cap);
        if (qs) prefetch_share(qs, qm, R::scale_row_bytes(qk, qg), 8 / qks, cap);
    }
    if (layer_prefetch_due(3, at, lookahead)) {
        prefetch_share(ow, om, R::row_bytes(ok), 8 / oks, cap);
        if (os) prefetch_share(os, om, R::scale_row_bytes(ok, og), 8 / oks, cap);
    }
    if (layer_prefetch_due(4, at, lookahead)) {
        size_t rb = R::row_bytes(gk);
        prefetch_share(gw, inner, rb, 8, cap / 2);
        prefetch_share(static_cast<const char*>(gw) + (size_t)inner * rb, inner, rb, 8, cap / 2);
        if (gs) {
            size_t sb = R::scale_row_bytes(gk, gg);
            prefetch_share(gs, inner, sb, 8, cap / 2);
            prefetch_share(static_cast<const char*>(gs) + (size_t)inner * sb, inner, sb, 8, cap / 2);
        }
    }
    if (layer_prefetch_due(5, at, lookahead)) {
        prefetch_share(dw, dm, R::row_bytes(dk), 8 / dks, cap);
        if (ds) prefetch_share(ds, dm, R::scale_row_bytes(dk, dg), 8 / dks, cap);
    }
    if (nqw && layer_prefetch_due(6, at, lookahead)) {
        prefetch_share(nqw, qm, R::row_bytes(qk), 8 / qks, cap);
        if (nqs) prefetch_share(nqs, qm, R::scale_row_bytes(qk, qg), 8 / qks, cap);
    }
}

// fp16 weights, two blocks per SM (up to 128 registers; a three-block variant held to 80 lost on the H100: 1404
// against 1238 us per fp16 step, 1110 against 986 int8, 1272 against 1163 int4). pf_stages is the prefetch lookahead
// and pf_cap its bytes per block and stage, nqw and nqs the next layer's q|k|v weight and scales (null: none or
// unknown) (layer_prefetch), trace the stage trace's clock stamps (null: none).
#define LAYER_F16_KERNEL(D)                                                                                          \
    extern "C" __global__ void __launch_bounds__(LAYER_THREADS, 2) tinyrt_layer_f16_d##D(                            \
        unsigned long long* bar, int rows, int pf_stages, int pf_cap, const void* nqw, const void* nqs,              \
        unsigned long long* trace,                                                                                   \
        const __half* qw, const float* residual, const __half* gamma1, float eps1, __half* normed1, int nt1,         \
        __half* qkv, int qm, int qk, int qks,                                                                        \
        LAYER_ATTN_PARAMS,                                                                                           \
        const __half* ow, const __half* ox, __half* oout, float* ores, int om, int ok, int oks,                      \
        const __half* gw, const float* gres, const __half* gamma2, float eps2, __half* normed2, int nt2,             \
        __half* act, int inner, int gk,                                                                              \
        const __half* dw, const __half* dx, __half* dout, float* dres, int dm, int dk, int dks) {                    \
        pdl_launch();                                                                                                \
        auto slot = [&](int event) { return trace_slot(trace, event); };                                             \
        auto prefetch = [&](int at) {                                                                                \
            layer_prefetch<F16Rows>(at, pf_stages, (size_t)pf_cap, nqw, nullptr, qw, nullptr, 0, qm, qk, qks, ow,    \
                                    nullptr, 0, om, ok, oks, gw, nullptr, 0, inner, gk, dw, nullptr, 0, dm, dk,      \
                                    dks);                                                                            \
        };                                                                                                           \
        stamp(slot(EV_START));                                                                                       \
        prefetch(1);                                                                                                 \
        gemv_body<1, __half, true>(                                                                                  \
            qw, stamped(ReadyNorm{residual, gamma1, eps1, normed1, nt1, qk}, slot(EV_QKV_READY)), qkv,               \
            qm, qk, qks);                                                                                            \
        stamp(slot(EV_QKV_END));                                                                                     \
        unsigned long long arrived = grid_arrive(bar);                                                               \
        prefetch(2);                                                                                                 \
        LAYER_ATTN_STAGE(D);                                                                                         \
        stamp(slot(EV_ATTN_END));                                                                                    \
        arrived = grid_arrive(bar);                                                                                  \
        prefetch(3);                                                                                                 \
        gemv_body<1, __half, true>(ow, stamped(ReadyGridX{bar, arrived, ox, ok}, slot(EV_O_READY)), oout, om,        \
                                   ok, oks, ores);                                                                   \
        stamp(slot(EV_O_END));                                                                                       \
        arrived = grid_arrive(bar);                                                                                  \
        prefetch(4);                                                                                                 \
        gemv_gate_up_body<1, true>(                                                                                  \
            gw, stamped(ReadyGridNorm{bar, arrived, gres, gamma2, eps2, normed2, nt2, gk}, slot(EV_GATE_UP_READY)),  \
            act, inner, gk);                                                                                         \
        stamp(slot(EV_GATE_UP_END));                                                                                 \
        arrived = grid_arrive(bar);                                                                                  \
        prefetch(5);                                                                                                 \
        gemv_body<1, __half, true>(dw, stamped(ReadyGridX{bar, arrived, dx, dk}, slot(EV_DOWN_READY)), dout, dm,     \
                                   dk, dks, dres);                                                                   \
        stamp(slot(EV_DOWN_END));                                                                                    \
        prefetch(6);                                                                                                 \
        stamp(slot(EV_EXIT));                                                                                        \
    }

// weight-only quantized weights (QW8, QW4): each product's weight, scales, group, pre-scale and its split
#define LAYER_Q_KERNEL(FMT, F, D)                                                                                    \
    extern "C" __global__ void __launch_bounds__(LAYER_THREADS, 2) tinyrt_layer_##FMT##_d##D(                        \
        unsigned long long* bar, int rows, int pf_stages, int pf_cap, const void* nqw, const void* nqs,              \
        unsigned long long* trace,                                                                                   \
        const uint8_t* qw, const void* qs, int qg, const float* qp, int qps, const float* residual,                  \
        const __half* gamma1, float eps1, __half* normed1, int nt1, __half* qkv, int qm, int qk, int qks,            \
        LAYER_ATTN_PARAMS,                                                                                           \
        const uint8_t* ow, const void* os, int og, const float* op, int ops, const __half* ox, __half* oout,         \
        float* ores, int om, int ok, int oks,                                                                        \
        const uint8_t* gw, const void* gs, int gg, const float* gp, int gps, const float* gres,                      \
        const __half* gamma2, float eps2, __half* normed2, int nt2, __half* act, int inner, int gk,                  \
        const uint8_t* dw, const void* ds, int dg, const float* dp, int dps, const __half* dx, __half* dout,         \
        float* dres, int dm, int dk, int dks) {                                                                      \
        pdl_launch();                                                                                                \
        auto slot = [&](int event) { return trace_slot(trace, event); };                                             \
        auto prefetch = [&](int at) {                                                                                \
            layer_prefetch<QRows<F>>(at, pf_stages, (size_t)pf_cap, nqw, nqs, qw, qs, qg, qm, qk, qks, ow, os, og,   \
                                     om, ok, oks, gw, gs, gg, inner, gk, dw, ds, dg, dm, dk, dks);                   \
        };                                                                                                           \
        stamp(slot(EV_START));                                                                                       \
        prefetch(1);                                                                                                 \
        qgemv_body<F, 1, __half, true>(                                                                              \
            qw, qs, qg, qp, qps,                                                                                     \
            stamped(ReadyNorm{residual, gamma1, eps1, normed1, nt1, qk, F::PER_CHUNK}, slot(EV_QKV_READY)), qkv,     \
            qm, qk, qks);                                                                                            \
        stamp(slot(EV_QKV_END));                                                                                     \
        unsigned long long arrived = grid_arrive(bar);                                                               \
        prefetch(2);                                                                                                 \
        LAYER_ATTN_STAGE(D);                                                                                         \
        stamp(slot(EV_ATTN_END));                                                                                    \
        arrived = grid_arrive(bar);                                                                                  \
        prefetch(3);                                                                                                 \
        qgemv_body<F, 1, __half, true>(ow, os, og, op, ops,                                                          \
                                       stamped(ReadyGridX{bar, arrived, ox, ok, F::PER_CHUNK}, slot(EV_O_READY)),    \
                                       oout, om, ok, oks, ores);                                                     \
        stamp(slot(EV_O_END));                                                                                       \
        arrived = grid_arrive(bar);                                                                                  \
        prefetch(4);                                                                                                 \
        qgemv_gate_up_body<F, 1, true>(                                                                              \
            gw, gs, gg, gp, gps,                                                                                     \
            stamped(ReadyGridNorm{bar, arrived, gres, gamma2, eps2, normed2, nt2, gk, F::PER_CHUNK},                 \
                    slot(EV_GATE_UP_READY)),                                                                         \
            act, inner, gk);                                                                                         \
        stamp(slot(EV_GATE_UP_END));                                                                                 \
        arrived = grid_arrive(bar);                                                                                  \
        prefetch(5);                                                                                                 \
        qgemv_body<F, 1, __half, true>(dw, ds, dg, dp, dps,                                                          \
                                       stamped(ReadyGridX{bar, arrived, dx, dk, F::PER_CHUNK}, slot(EV_DOWN_READY)), \
                                       dout, dm, dk, dks, dres);                                                     \
        stamp(slot(EV_DOWN_END));                                                                                    \
        prefetch(6);                                                                                                 \
        stamp(slot(EV_EXIT));                                                                                        \
    }

LAYER_F16_KERNEL(64)
LAYER_Q_KERNEL(w8, QW8, 64)
LAYER_Q_KERNEL(w4, QW4, 64)
