// The decode-layer kernel: a whole batch-1 decoder layer in one launch. Its five stages are the five fused launches
// it replaces (CudaBackend holds them back and launches this instead, DecodeLayerFusion), run by one grid of at most
// the blocks the GPU holds at once, with a grid barrier (grid_sync) wherever one launch would have waited for the
// previous one:
//   1. RMSNorm prologue + q|k|v GEMV        (gemv_body, after the PDL wait for the previous kernel)
//   2. RoPE + KV write + decode attention   (attn_decode_body, one head per work item, T = 256)
//   3. o_proj GEMV + residual add           (x staged into shared memory after the barrier)
//   4. RMSNorm prologue + gate|up + SwiGLU
//   5. down GEMV + residual add
// Each GEMV stage issues its first pass of weight loads before its barrier, as a PDL launch does before its wait, so
// the barrier's round trip overlaps the weight stream. A kernel boundary costs a grid-wide drain, a fresh ramp of
// blocks and their prologues; the barrier costs one atomic per block and a spin. Stage inputs written during the
// launch are read through L2 (load_coherent); shared memory never carries anything across a barrier.
#pragma once
#include "common.cuh"
#include "gemv.cuh"
#include "qgemv.cuh"
#include "attention.cuh"

#define LAYER_THREADS 256

// ready() of a GEMV stage after the first: the barrier, then the norm prologue (as ReadyNorm without the PDL wait)
struct ReadyGridNorm {
    unsigned long long* bar;
    const float* residual;
    const __half* gamma;
    float eps;
    __half* normed;
    int norm_threads, cols;
    DEV const __half* operator()() const {
        grid_sync(bar);
        return norm_prologue(residual, gamma, eps, normed, norm_threads, cols);
    }
    DEV int up_offset() const { return 0; }
};

// ready() of a GEMV stage that reads an earlier stage's output: the barrier, then x [k] staged into shared memory
struct ReadyGridX {
    unsigned long long* bar;
    const __half* x;
    int k;
    DEV const __half* operator()() const {
        grid_sync(bar);
        DYNAMIC_SHARED(__half, xs);
        for (int c = threadIdx.x * 8; c < k; c += blockDim.x * 8) {
            *reinterpret_cast<uint4*>(xs + c) = load_coherent(x + c);
        }
        __syncthreads();
        return xs;
    }
    DEV int up_offset() const { return 0; }
};

// The attention stage's wait: the block's first work item to get there takes the barrier.
struct GridWaitOnce {
    unsigned long long* bar;
    bool* done;
    DEV void operator()() const {
        if (!*done) {
            grid_sync(bar);
            *done = true;
        }
    }
};

// Stage 2: work items (head, row, split) walked by the blocks; a block with none (or whose items all return before
// their wait) still takes the barrier, so every block takes each barrier exactly once.
template <int D, typename KV>
DEV void layer_attention(unsigned long long* bar, int rows, const __half* qkv, int qkv_stride, typename KV::T* k_cache,
                         typename KV::T* v_cache, const int* positions, const int* row_seq, const int* block_tables,
                         int table_width, int block_size, int heads, int kv_heads, int split_len, int num_splits,
                         float scale, float* part_o, float* part_ml, int* counters, __half* out, const float* cos_t,
                         const float* sin_t, const int* slots, int fuse_rope, float kv_scale) {
    bool done = false;
    int items = heads * rows * num_splits;
    for (int v = blockIdx.x; v < items; v += gridDim.x) {  // uniform per block
        __syncthreads();  // the previous item's shared memory has been read
        int hb = v % heads, rest = v / heads;
        attn_decode_body<D, 1, KV, LAYER_THREADS>(hb, rest % rows, rest / rows, heads, GridWaitOnce{bar, &done}, qkv,
                                                  qkv_stride, k_cache, v_cache, positions, row_seq, block_tables,
                                                  table_width, block_size, heads, kv_heads, split_len, num_splits,
                                                  scale, part_o, part_ml, counters, out, cos_t, sin_t, slots,
                                                  fuse_rope, kv_scale);
    }
    if (!done) grid_sync(bar);
}

// The parameters of each stage, in the order of the launch it replaces (the host concatenates those launches'
// arguments after the barrier counter and the attention's row count).
#define LAYER_ATTN_PARAMS                                                                                            \
    const __half *aqkv, int aqkv_stride, __half *ak_cache, __half *av_cache, const int *apositions,                 \
        const int *arow_seq, const int *ablock_tables, int atable_width, int ablock_size, int aheads, int akv_heads, \
        int asplit_len, int anum_splits, float ascale, float *apart_o, float *apart_ml, int *acounters,              \
        __half *aout, const float *acos_t, const float *asin_t, const int *aslots, int afuse_rope, float akv_scale
#define LAYER_ATTN_STAGE(D)                                                                                          \
    layer_attention<D, KvF16>(bar, rows, aqkv, aqkv_stride, ak_cache, av_cache, apositions, arow_seq,                \
                              ablock_tables, atable_width, ablock_size, aheads, akv_heads, asplit_len, anum_splits,  \
                              ascale, apart_o, apart_ml, acounters, aout, acos_t, asin_t, aslots, afuse_rope,        \
                              akv_scale)

// fp16 weights. Two variants: two blocks per SM (up to 128 registers: no stage spills) and, suffix _b3, three
// (80 registers: the attention and gate|up stages spill, but the grid walks the row groups with more blocks).
#define LAYER_F16_KERNEL(D, B, SUFFIX)                                                                               \
    extern "C" __global__ void __launch_bounds__(LAYER_THREADS, B) tinyrt_layer_f16_d##D##SUFFIX(                    \
        unsigned long long* bar, int rows,                                                                           \
        const __half* qw, const float* residual, const __half* gamma1, float eps1, __half* normed1, int nt1,        \
        __half* qkv, int qm, int qk, int qks,                                                                        \
        LAYER_ATTN_PARAMS,                                                                                           \
        const __half* ow, const __half* ox, __half* oout, float* ores, int om, int ok, int oks,                      \
        const __half* gw, const float* gres, const __half* gamma2, float eps2, __half* normed2, int nt2,            \
        __half* act, int inner, int gk,                                                                              \
        const __half* dw, const __half* dx, __half* dout, float* dres, int dm, int dk, int dks) {                    \
        pdl_launch();                                                                                                \
        gemv_body<1, __half, true>(qw, ReadyNorm{residual, gamma1, eps1, normed1, nt1, qk}, qkv, qm, qk, qks);      \
        LAYER_ATTN_STAGE(D);                                                                                         \
        gemv_body<1, __half, true>(ow, ReadyGridX{bar, ox, ok}, oout, om, ok, oks, ores);                           \
        gemv_gate_up_body<1, true>(gw, ReadyGridNorm{bar, gres, gamma2, eps2, normed2, nt2, gk}, act, inner, gk);   \
        gemv_body<1, __half, true>(dw, ReadyGridX{bar, dx, dk}, dout, dm, dk, dks, dres);                           \
    }

// weight-only quantized weights (QW8, QW4): each product's weight, scales, group, pre-scale and its split
#define LAYER_Q_KERNEL(FMT, F, D, B, SUFFIX)                                                                         \
    extern "C" __global__ void __launch_bounds__(LAYER_THREADS, B) tinyrt_layer_##FMT##_d##D##SUFFIX(                \
        unsigned long long* bar, int rows,                                                                           \
        const uint8_t* qw, const void* qs, int qg, const float* qp, int qps, const float* residual,                 \
        const __half* gamma1, float eps1, __half* normed1, int nt1, __half* qkv, int qm, int qk, int qks,           \
        LAYER_ATTN_PARAMS,                                                                                           \
        const uint8_t* ow, const void* os, int og, const float* op, int ops, const __half* ox, __half* oout,        \
        float* ores, int om, int ok, int oks,                                                                        \
        const uint8_t* gw, const void* gs, int gg, const float* gp, int gps, const float* gres,                     \
        const __half* gamma2, float eps2, __half* normed2, int nt2, __half* act, int inner, int gk,                 \
        const uint8_t* dw, const void* ds, int dg, const float* dp, int dps, const __half* dx, __half* dout,        \
        float* dres, int dm, int dk, int dks) {                                                                      \
        pdl_launch();                                                                                                \
        qgemv_body<F, 1, __half, true>(qw, qs, qg, qp, qps, ReadyNorm{residual, gamma1, eps1, normed1, nt1, qk},    \
                                       qkv, qm, qk, qks);                                                            \
        LAYER_ATTN_STAGE(D);                                                                                         \
        qgemv_body<F, 1, __half, true>(ow, os, og, op, ops, ReadyGridX{bar, ox, ok}, oout, om, ok, oks, ores);      \
        qgemv_gate_up_body<F, 1, true>(gw, gs, gg, gp, gps, ReadyGridNorm{bar, gres, gamma2, eps2, normed2, nt2, gk}, \
                                       act, inner, gk);                                                              \
        qgemv_body<F, 1, __half, true>(dw, ds, dg, dp, dps, ReadyGridX{bar, dx, dk}, dout, dm, dk, dks, dres);      \
    }

LAYER_F16_KERNEL(64, 2, )
LAYER_Q_KERNEL(w8, QW8, 64, 2, )
LAYER_Q_KERNEL(w4, QW4, 64, 2, )
LAYER_F16_KERNEL(64, 3, _b3)
LAYER_Q_KERNEL(w8, QW8, 64, 3, _b3)
LAYER_Q_KERNEL(w4, QW4, 64, 3, _b3)
