// Weight-only quantized products: W8A16 (int8, one fp32 scale per output row) and W4A16 (int4, one fp16 scale per
// row and group of columns; AWQ adds a per-column pre-scale of the activations). Decode runs GEMV kernels that
// stream the quantized bytes once and dequantize in registers; prefill (more than 8 token rows) dequantizes the
// weight into an fp16 scratch matrix that cuBLAS multiplies (CudaBackend.linear).
//
// Storage, as CudaBackend re-packs the canonical WeightData forms at load:
//   W8: int8 [rows, cols] row-major, each value offset-binary (byte = q + 128 = q ^ 0x80), so the float with bits
//       0x4B000000 | byte is 2^23 + 128 + q exactly: one byte permute and one subtraction per value, no integer
//       conversion. Scales fp32 [rows], applied once to the row's sum.
//   W4: [rows, cols/2] row-major, offset-binary (nibble = q + 8 = q ^ 8), 2^23 + 8 + q likewise; each 32-bit word
//       holds eight columns c0..c7 as nibbles c0 c2 c4 c6 c1 c3 c5 c7 from the low end (WeightPacking
//       .evenNibblesFirst), so nibbles n and n + 4 are the column pair (2n, 2n + 1). Scales fp16 [rows, cols/group]
//       (TensorRT-LLM stores them in the model dtype).
//   pre-scale (AWQ, SmoothQuant): fp32 [cols], or [2, cols] for a fused weight whose rows from pre_split on were
//       scaled differently (gate|up); null when there is none.
// One warp per weight row (or ks warps, split-K, as gemv.cuh), 16-byte loads, QGEMV_UNROLL loads in flight per lane, each loaded chunk reused for all
// NT token rows. Requires cols % 16 (W8) or cols % 32 and group % 32 (W4) == 0; the host checks and otherwise
// keeps an fp16 copy of the weight instead.
#pragma once
#include "common.cuh"

#define QGEMV_THREADS 256
// Chunks per lane and pass: 6 lets the down projection's rows (k = 5632: 5.5 chunks per lane for W4, and for W8 at
// split-K 2) finish in one pass. The gate|up kernels keep a pass of both rows in flight, F::GATE_UP_UNROLL chunks
// each: one pass for k = 2048. On the H100 (GPU time per decode step, cuda_check json files of 2026-11-27) this
// beat 8 chunks per lane and 4 per gate|up row for int8 and int4 (805 vs 878 us, 961 vs 990), and W4 loads after
// the wait with a cap of 80 registers (three blocks per SM) lost too (int8 886, int4 976).
#define QGEMV_UNROLL 6

// 2^23 + b for the low 23 bits b, as a float
DEV float magic_float(unsigned b) { return __uint_as_float(0x4B000000u | b); }

struct QW8 {
    static constexpr int PER_CHUNK = 16;  // values in one 16-byte load
    static constexpr int BITS = 8;
    static constexpr int GATE_UP_UNROLL = 4;
    DEV static void decode(const uint4& raw, float* v) {
        unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
#pragma unroll
            for (int b = 0; b < 4; b++) {
#ifdef __CUDA_ARCH__
                float f = __uint_as_float(__byte_perm(words[i], 0x4B000000u, 0x7440u + b));
#else
                float f = magic_float((words[i] >> (8 * b)) & 0xffu);
#endif
                v[4 * i + b] = f - 8388736.0f;  // 2^23 + 128
            }
        }
    }
    DEV static float row_scale(const void* scales, int row) { return static_cast<const float*>(scales)[row]; }
    DEV static float chunk_scale(const void*, int, int, int, int) { return 1.0f; }
    // The half2 path: sum of q / 128 * x over the chunk's 16 columns. 0x64XX is the fp16 1024 + byte, so
    // 1024 + byte scaled by 1/128 minus 9 is q / 128 exactly; x's natural half2 pairs line up with the bytes.
    static constexpr bool HALF2 = true;
    static constexpr float HALF2_SCALE = 128.0f;
    template <bool XS>
    DEV static float dot_h2(const uint4& raw, const __half* x, int stride) {  // x's pieces of 8: x + stride * j
        unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < 2; j++) {  // 8 columns: words 2j and 2j + 1, one 16-byte load of x
            uint4 xv = load_x<XS>(x + stride * j);
            unsigned xw[4] = {xv.x, xv.y, xv.z, xv.w};
            unsigned v[4];
#pragma unroll
            for (int h = 0; h < 4; h++) {  // half2 h holds columns 2h, 2h + 1 of the 8
                v[h] = byte_perm(words[2 * j + h / 2], 0x64646464u, h % 2 == 0 ? 0x4140u : 0x4342u);
            }
            sum += h2_dot4(v, xw, 0x20002000u, 0xC880C880u);  // (v / 128 - 9) * x
        }
        return sum;
    }
};

struct QW4 {
    static constexpr int PER_CHUNK = 32;
    static constexpr int BITS = 4;
    static constexpr int GATE_UP_UNROLL = 2;
    DEV static void decode(const uint4& raw, float* v) {
        unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
#pragma unroll
            for (int p = 0; p < 8; p++) {  // nibble p holds column 2p (p < 4) or 2(p - 4) + 1
                v[8 * i + (p < 4 ? 2 * p : 2 * (p - 4) + 1)] = magic_float((words[i] >> (4 * p)) & 0xfu) - 8388616.0f;
            }
        }
    }
    DEV static float row_scale(const void*, int) { return 1.0f; }
    // a chunk of 32 columns lies inside one group (group % 32 == 0)
    DEV static float chunk_scale(const void* scales, int row, int chunk, int k, int group) {
        int groups = k / group;
        return __half2float(static_cast<const __half*>(scales)[(size_t)row * groups + chunk * PER_CHUNK / group]);
    }
    // The half2 path: sum of q / 8 * x over the chunk's 32 columns. Nibbles n and n + 4 of a word masked into
    // 0x640N halves are 1024 + nibble; scaled by 1/8 minus 129 that is q / 8 exactly. They are columns 2n and
    // 2n + 1, the pair x's n-th word holds.
    static constexpr bool HALF2 = true;
    static constexpr float HALF2_SCALE = 8.0f;
    template <bool XS>
    DEV static float dot_h2(const uint4& raw, const __half* x, int stride) {  // x's pieces of 8: x + stride * i
        unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
        float sum = 0.f;
#pragma unroll
        for (int i = 0; i < 4; i++) {  // word i: 8 columns, one 16-byte load of x
            uint4 xv = load_x<XS>(x + stride * i);
            unsigned xs[4] = {xv.x, xv.y, xv.z, xv.w};
            unsigned v[4];
#pragma unroll
            for (int n = 0; n < 4; n++) v[n] = ((words[i] >> (4 * n)) & 0x000F000Fu) | 0x64006400u;
            sum += h2_dot4(v, xs, 0x30003000u, 0xD808D808u);  // (v / 8 - 129) * x
        }
        return sum;
    }
};

// FP8 e4m3 (sm_89+ only: the host refuses FP8 weights on older GPUs), stored as is; scales fp32 [rows] hold
// weight scale * activation scale, since x arrives quantized to e4m3 and divided by the activation scale
// (tinyrt_quant_e4m3). Decoded by the hardware's e4m3x2 -> f16x2 conversion, or exactly in software elsewhere
// (the test emulator).
struct QF8 {
    static constexpr int PER_CHUNK = 16;
    static constexpr int BITS = 8;
    static constexpr int GATE_UP_UNROLL = 4;
    static constexpr bool HALF2 = false;  // x arrives as e4m3 values: the fp32 path
    static constexpr float HALF2_SCALE = 1.0f;
    template <bool XS>
    DEV static float dot_h2(const uint4&, const __half*, int) { return 0.f; }
    DEV static void decode(const uint4& raw, float* v) {
        unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int i = 0; i < 4; i++) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
            unsigned lo, hi;
            asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(lo) : "h"(static_cast<unsigned short>(words[i] & 0xffffu)));
            asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(hi) : "h"(static_cast<unsigned short>(words[i] >> 16)));
            v[4 * i] = __half2float(__ushort_as_half(static_cast<unsigned short>(lo & 0xffffu)));
            v[4 * i + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(lo >> 16)));
            v[4 * i + 2] = __half2float(__ushort_as_half(static_cast<unsigned short>(hi & 0xffffu)));
            v[4 * i + 3] = __half2float(__ushort_as_half(static_cast<unsigned short>(hi >> 16)));
#else
#pragma unroll
            for (int b = 0; b < 4; b++) v[4 * i + b] = e4m3_to_float((words[i] >> (8 * b)) & 0xffu);
#endif
        }
    }
    DEV static float row_scale(const void* scales, int row) { return static_cast<const float*>(scales)[row]; }
    DEV static float chunk_scale(const void*, int, int, int, int) { return 1.0f; }
};

// One pass of a lane over a quantized row: U chunks (base, base + step, ...) with their group scales, loaded
// together so the scales cost no extra round trip; zeros past the row's end.
template <class F, int U>
struct QPass {
    uint4 wv[U];
    float sc[U];
    DEV void load(const uint4* wrow, const void* scales, int row, int base, int step, int chunks, int k, int group) {
        load_pass<U>(wv, wrow, base, step, chunks);
#pragma unroll
        for (int u = 0; u < U; u++) {
            int c = base + step * u;
            sc[u] = c < chunks ? F::chunk_scale(scales, row, c, k, group) : 0.f;
        }
    }
    // acc[t] += sum over this pass's columns of w[row, c] * pre[c] * x[t, c] (before the row scale). x [NT, k] in
    // column order, or (XS: one row in shared memory) piece-major (xs_piece).
    template <int NT, bool XS>
    DEV void accumulate(const float* __restrict__ p, const __half* __restrict__ x, int base, int step, int chunks,
                        int k, float* acc) const {
        constexpr int PER = F::PER_CHUNK;
        static_assert(!XS || NT == 1, "x in shared memory is one row");
        const int stride = XS ? chunks * 8 : 8;  // halves from one piece of 8 columns of a chunk to its next
#pragma unroll
        for (int u = 0; u < U; u++) {
            int c = base + step * u;
            if (F::HALF2 && p == nullptr && c < chunks) {  // warp-uniform; a pre-scale left to the product takes the
                                                            // fp32 path (the _pre_ kernels below stage it instead)
                float s = sc[u] * F::HALF2_SCALE;
#pragma unroll
                for (int t = 0; t < NT; t++) {
                    const __half* xc = XS ? x + (size_t)c * 8 : x + (size_t)t * k + (size_t)c * PER;
                    acc[t] = fmaf(F::template dot_h2<XS>(wv[u], xc, stride), s, acc[t]);
                }
            } else if (c < chunks) {
                // eight columns at a time (decoded whole, the compiler keeps the eight it uses): few live registers,
                // where widening the chunk's 32 W4 values at once took the kernels to 128 registers
                float d[NT];
#pragma unroll
                for (int t = 0; t < NT; t++) d[t] = 0.f;
#pragma unroll
                for (int j = 0; j < PER / 8; j++) {
                    float wf[PER];
                    F::decode(wv[u], wf);
                    if (p != nullptr) {  // warp-uniform
                        float4 s0 = *reinterpret_cast<const float4*>(p + (size_t)c * PER + 8 * j);
                        float4 s1 = *reinterpret_cast<const float4*>(p + (size_t)c * PER + 8 * j + 4);
                        wf[8 * j] *= s0.x; wf[8 * j + 1] *= s0.y; wf[8 * j + 2] *= s0.z; wf[8 * j + 3] *= s0.w;
                        wf[8 * j + 4] *= s1.x; wf[8 * j + 5] *= s1.y; wf[8 * j + 6] *= s1.z; wf[8 * j + 7] *= s1.w;
                    }
#pragma unroll
                    for (int t = 0; t < NT; t++) {
                        float xf[8];
                        const __half* xc = XS ? x + (size_t)c * 8 : x + (size_t)t * k + (size_t)c * PER;
                        unpack8(load_x<XS>(xc + stride * j), xf);
#pragma unroll
                        for (int e = 0; e < 8; e++) d[t] = fmaf(wf[8 * j + e], xf[e], d[t]);
                    }
                }
#pragma unroll
                for (int t = 0; t < NT; t++) acc[t] = fmaf(d[t], sc[u], acc[t]);
            }
        }
    }
};

DEV const uint4* qrow(const uint8_t* w, int row, int k, int bits) {
    return reinterpret_cast<const uint4*>(w + (size_t)row * ((size_t)k * bits / 8));
}

// split-K over ks warps per row and row groups as gemv_body (gemv.cuh); ready() as there: called by every thread
// once the first pass of weight loads is in flight, it waits for the previous kernel and gives x.
template <class F, int NT, typename TOut, bool XS = false, class Ready>
DEV void qgemv_body(const uint8_t* w, const void* scales, int group_size, const float* pre, int pre_split,
                    Ready ready, TOut* out, int m, int k, int ks, float* residual = nullptr) {
    int lane = threadIdx.x & 31, slice = gemv_slice(ks);
    int rpg = GEMV_THREADS / 32 / ks, groups = gemv_groups(m, rpg);
    int step = 32 * ks;
    size_t row_bytes = (size_t)k * F::BITS / 8;
    int group = blockIdx.x, row, chunks, base;
    bool active;
    const uint4* wrow;
    const float* p;
    QPass<F, QGEMV_UNROLL> pass;
    auto start_row = [&] {  // the group's row for this warp, and its first pass of loads
        row = gemv_row(group, ks);
        active = row < m;
        chunks = active ? k / F::PER_CHUNK : 0;
        wrow = qrow(w, active ? row : 0, k, F::BITS);
        p = pre == nullptr ? nullptr : pre + (row >= pre_split ? k : 0);
        base = 32 * slice + lane;
        pass.load(wrow, scales, row, base, step, chunks, k, group_size);
    };
    start_row();
    const __half* x = ready();
    for (;;) {  // uniform per block
        prefetch_next_group(w, m, row_bytes, group, rpg);
        float rs = active ? F::row_scale(scales, row) : 0.f;
        float acc[NT];
#pragma unroll
        for (int t = 0; t < NT; t++) acc[t] = 0.f;
        for (;;) {
            pass.template accumulate<NT, XS>(p, x, base, step, chunks, k, acc);
            base += step * QGEMV_UNROLL;
            if (base >= chunks) break;
            pass.load(wrow, scales, row, base, step, chunks, k, group_size);
        }
        gemv_reduce<NT>(acc, ks);
#pragma unroll
        for (int t = 0; t < NT; t++) acc[t] *= rs;
        if (active && slice == 0 && lane == 0) store_row<NT>(out, residual, m, row, acc);
        group += gridDim.x;
        if (group >= groups) break;
        start_row();
    }
}

// The fused gate|up weight ([2 * inner, k], gate rows first) with SwiGLU in the epilogue, as gemv_gate_up_body: a
// warp's gate row and up row are loaded together, a pass of each in flight at once; row groups as there.
template <class F, int NT, bool XS = false, class Ready>
DEV void qgemv_gate_up_body(const uint8_t* w, const void* scales, int group_size, const float* pre, int pre_split,
                            Ready ready, __half* act, int inner, int k) {
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    constexpr int RPG = QGEMV_THREADS / 32;
    int groups = gemv_groups(inner, RPG);
    size_t row_bytes = (size_t)k * F::BITS / 8;
    int group = blockIdx.x, row, chunks, gr, ur, base;
    bool active;
    const uint4 *wg, *wu;
    const float *pg, *pu;
    QPass<F, F::GATE_UP_UNROLL> gp, up;
    auto start_row = [&] {
        row = group * RPG + warp;
        active = row < inner;  // inactive warps still call ready()
        chunks = active ? k / F::PER_CHUNK : 0;
        gr = active ? row : 0;
        ur = active ? inner + row : 0;
        wg = qrow(w, gr, k, F::BITS);
        wu = qrow(w, ur, k, F::BITS);
        pg = pre == nullptr ? nullptr : pre + (gr >= pre_split ? k : 0);
        pu = pre == nullptr ? nullptr : pre + (ur >= pre_split ? k : 0);
        base = lane;
        gp.load(wg, scales, gr, base, 32, chunks, k, group_size);
        up.load(wu, scales, ur, base, 32, chunks, k, group_size);
    };
    start_row();
    const __half* x = ready();
    const __half* xu = x + ready.up_offset();
    for (;;) {  // no block-wide synchronization below
        prefetch_next_group(w, inner, row_bytes, group, RPG, PREFETCH_MAX_BYTES / 2);
        prefetch_next_group(w + (size_t)inner * row_bytes, inner, row_bytes, group, RPG, PREFETCH_MAX_BYTES / 2);
        float gs = active ? F::row_scale(scales, gr) : 0.f, us = active ? F::row_scale(scales, ur) : 0.f;
        float ag[NT], au[NT];
#pragma unroll
        for (int t = 0; t < NT; t++) ag[t] = au[t] = 0.f;
        for (;;) {
            gp.template accumulate<NT, XS>(pg, x, base, 32, chunks, k, ag);
            up.template accumulate<NT, XS>(pu, xu, base, 32, chunks, k, au);
            base += 32 * F::GATE_UP_UNROLL;
            if (base >= chunks) break;
            gp.load(wg, scales, gr, base, 32, chunks, k, group_size);
            up.load(wu, scales, ur, base, 32, chunks, k, group_size);
        }
        if (active) store_swiglu<NT>(act, inner, row, ag, au, gs, us);  // uniform per warp
        group += gridDim.x;
        if (group >= groups) break;
        start_row();
    }
}

// Prefill: out[r, c] = fp16(q * scales * pre[c]), the weight cuBLAS then multiplies (the pre-scale folded into the
// columns rather than applied to x). grid-stride over 16-byte chunks.
template <class F>
DEV void dequant_body(const uint8_t* __restrict__ w, const void* __restrict__ scales, int group,
                      const float* __restrict__ pre, int pre_split, __half* __restrict__ out, int rows, int cols) {
    constexpr int PER = F::PER_CHUNK;
    int per_row = cols / PER;
    long chunks = (long)rows * per_row;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < chunks; i += (long)gridDim.x * blockDim.x) {
        int row = (int)(i / per_row), c = (int)(i % per_row);
        float v[PER];
        F::decode(load_streaming(w + (size_t)i * 16), v);
        float s = F::row_scale(scales, row) * F::chunk_scale(scales, row, c, cols, group);
        const float* p = pre == nullptr ? nullptr : pre + (row >= pre_split ? cols : 0) + (size_t)c * PER;
#pragma unroll
        for (int e = 0; e < PER; e++) v[e] = p == nullptr ? v[e] * s : v[e] * s * p[e];
        uint4* dst = reinterpret_cast<uint4*>(out + (size_t)row * cols + (size_t)c * PER);
#pragma unroll
        for (int j = 0; j < PER / 8; j++) dst[j] = pack8(v + 8 * j);
    }
}

#define QGEMV_KERNELS(FMT, F, NT)                                                                                   \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_n##NT##_f16(                   \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const __half* x,          \
        __half* out, int m, int k, int ks) {                                                                         \
        gemv_prologue(w, m, (size_t)k * F::BITS / 8, ks);                                                            \
        qgemv_body<F, NT, __half>(w, scales, group, pre, pre_split, ReadyX{x}, out, m, k, ks);                       \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_n##NT##_f32(                   \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const __half* x,          \
        float* out, int m, int k, int ks) {                                                                          \
        gemv_prologue(w, m, (size_t)k * F::BITS / 8, ks);                                                            \
        qgemv_body<F, NT, float>(w, scales, group, pre, pre_split, ReadyX{x}, out, m, k, ks);                        \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_gate_up_n##NT(                 \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const __half* x,          \
        __half* act, int inner, int k) {                                                                             \
        gate_up_prologue(w, inner, (size_t)k * F::BITS / 8);                                                         \
        qgemv_gate_up_body<F, NT>(w, scales, group, pre, pre_split, ReadyX{x}, act, inner, k);                       \
    }

#define QGEMV_ALL(FMT, F)                                                                                           \
    QGEMV_KERNELS(FMT, F, 1) QGEMV_KERNELS(FMT, F, 2) QGEMV_KERNELS(FMT, F, 3) QGEMV_KERNELS(FMT, F, 4)             \
    QGEMV_KERNELS(FMT, F, 5) QGEMV_KERNELS(FMT, F, 6) QGEMV_KERNELS(FMT, F, 7) QGEMV_KERNELS(FMT, F, 8)             \
    extern "C" __global__ void tinyrt_dequant_##FMT(const uint8_t* w, const void* scales, int group,                 \
                                                    const float* pre, int pre_split, __half* out, int rows,          \
                                                    int cols) {                                                      \
        PDL_PROLOGUE;                                                                                                \
        dequant_body<F>(w, scales, group, pre, pre_split, out, rows, cols);                                          \
    }

// the fused batch-1 kernels of gemv.cuh's end, for quantized weights; the norm kernels held to 80 registers (three
// blocks per SM, the QKV product's 320 row groups in one wave; W4 spills 28 bytes for it, W8 none)
#define QGEMV_FUSED(FMT, F)                                                                                         \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_res(                           \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const __half* x,          \
        __half* out, float* residual, int m, int k, int ks) {                                                        \
        gemv_prologue(w, m, (size_t)k * F::BITS / 8, ks);                                                            \
        qgemv_body<F, 1, __half>(w, scales, group, pre, pre_split, ReadyX{x}, out, m, k, ks, residual);              \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS, 3) tinyrt_qgemv_##FMT##_norm(                          \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const float* residual,    \
        const __half* gamma, float eps, __half* normed, int norm_threads, __half* out, int m, int k, int ks) {      \
        gemv_prologue(w, m, (size_t)k * F::BITS / 8, ks);                                                            \
        qgemv_body<F, 1, __half, true>(w, scales, group, pre, pre_split,                                             \
                                       ReadyNorm{residual, gamma, eps, normed, norm_threads, k, F::PER_CHUNK}, out, \
                                       m, k, ks);                                                                    \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_gate_up_norm(                  \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const float* residual,    \
        const __half* gamma, float eps, __half* normed, int norm_threads, __half* act, int inner, int k) {          \
        gate_up_prologue(w, inner, (size_t)k * F::BITS / 8);                                                         \
        qgemv_gate_up_body<F, 1, true>(w, scales, group, pre, pre_split,                                             \
                                       ReadyNorm{residual, gamma, eps, normed, norm_threads, k, F::PER_CHUNK}, act,  \
                                       inner, k);                                                                    \
    }

// AWQ's pre-scale on the fp16-pair path: the batch-1 fused kernels (_pre_res, _pre_norm, _pre_gate_up_norm) stage
// x * pre, rounded to fp16, in shared memory once per block, so the product multiplies in f16x2 like an unscaled W4
// weight instead of widening every weight to fp32 to scale it (QPass::accumulate's fp32 path). Shared memory: [k]
// fp16 per staged copy, after the norm's [k] where there is one. The host takes them only for a pre-scale shared by
// all rows, or for gate|up one per half (pre_split == inner). x in column order; dst laid out for a product of `per`
// columns per chunk (xs_piece).
DEV void stage_scaled(const __half* x, const float* __restrict__ pre, __half* dst, int k, int per) {
    for (int c = threadIdx.x * 8; c < k; c += blockDim.x * 8) {
        float v[8];
        unpack8(*reinterpret_cast<const uint4*>(x + c), v);
        float4 s0 = *reinterpret_cast<const float4*>(pre + c), s1 = *reinterpret_cast<const float4*>(pre + c + 4);
        v[0] *= s0.x; v[1] *= s0.y; v[2] *= s0.z; v[3] *= s0.w;
        v[4] *= s1.x; v[5] *= s1.y; v[6] *= s1.z; v[7] *= s1.w;
        *reinterpret_cast<uint4*>(dst + xs_piece(c, per, k)) = pack8(v);
    }
}
// x from global memory (the res kernels' input), scaled into shared memory [0, k). (The plain res kernels read x
// through L1. Staging it like this without the scale did not pay on the H100 at 28c6a7d: in that run the other
// formats gained 21-33 us per decode step from a decode-attention change, int4 10 and int8 none.)
struct ReadyPreX {
    const __half* x;
    const float* pre;
    int k, per;
    DEV const __half* operator()() const {
        pdl_wait();
        DYNAMIC_SHARED(__half, xs);
        stage_scaled(x, pre, xs, k, per);
        __syncthreads();
        return xs;
    }
    DEV int up_offset() const { return 0; }
};
// the norm's output (shared memory [0, k)) scaled into [k, 2k), and with two pre-scales (gate|up) the second half's
// into [2k, 3k)
struct ReadyPreNorm {
    ReadyNorm norm;  // in column order (per 8)
    const float* pre;
    int k;
    bool two;
    int per;
    DEV const __half* operator()() const {
        const __half* normed = norm();
        DYNAMIC_SHARED(__half, xs);
        stage_scaled(normed, pre, xs + k, k, per);
        if (two) stage_scaled(normed, pre + k, xs + 2 * k, k, per);
        __syncthreads();
        return xs + k;
    }
    DEV int up_offset() const { return two ? k : 0; }
};

#define QGEMV_PRE(FMT, F)                                                                                           \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_pre_res(                       \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const __half* x,          \
        __half* out, float* residual, int m, int k, int ks) {                                                        \
        gemv_prologue(w, m, (size_t)k * F::BITS / 8, ks);                                                            \
        qgemv_body<F, 1, __half, true>(w, scales, group, nullptr, pre_split, ReadyPreX{x, pre, k, F::PER_CHUNK},    \
                                       out, m, k, ks, residual);                                                     \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_pre_norm(                      \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const float* residual,    \
        const __half* gamma, float eps, __half* normed, int norm_threads, __half* out, int m, int k, int ks) {      \
        gemv_prologue(w, m, (size_t)k * F::BITS / 8, ks);                                                            \
        ReadyPreNorm ready{ReadyNorm{residual, gamma, eps, normed, norm_threads, k}, pre, k, false, F::PER_CHUNK};  \
        qgemv_body<F, 1, __half, true>(w, scales, group, nullptr, pre_split, ready, out, m, k, ks);                 \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(QGEMV_THREADS) tinyrt_qgemv_##FMT##_pre_gate_up_norm(              \
        const uint8_t* w, const void* scales, int group, const float* pre, int pre_split, const float* residual,    \
        const __half* gamma, float eps, __half* normed, int norm_threads, __half* act, int inner, int k) {          \
        gate_up_prologue(w, inner, (size_t)k * F::BITS / 8);                                                         \
        ReadyPreNorm ready{ReadyNorm{residual, gamma, eps, normed, norm_threads, k}, pre, k, pre_split == inner,     \
                           F::PER_CHUNK};                                                                            \
        qgemv_gate_up_body<F, 1, true>(w, scales, group, nullptr, pre_split, ready, act, inner, k);                 \
    }

QGEMV_ALL(w8, QW8)
QGEMV_ALL(w4, QW4)
QGEMV_FUSED(w8, QW8)
QGEMV_FUSED(w4, QW4)
QGEMV_PRE(w8, QW8)
QGEMV_PRE(w4, QW4)
QGEMV_ALL(f8, QF8)
