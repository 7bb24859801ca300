// Shared helpers for tinyrt's kernels: fp16/fp32 conversion, warp and block reductions, 16-byte loads.
// Activations and weights are fp16 (__half); every kernel accumulates in fp32.
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>
#ifndef __CUDA_ARCH__
#include <cstring>
#endif

#define DEV __device__ __forceinline__

// Dynamic shared memory of a block (the launch's sharedBytes). A macro so the kernels can also be compiled for the
// host by the test emulator (lib/src/test/native), which defines it before including this file.
#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif

template <typename T> DEV float to_f32(T v);
template <> DEV float to_f32<float>(float v) { return v; }
template <> DEV float to_f32<__half>(__half v) { return __half2float(v); }

template <typename T> DEV T from_f32(float v);
template <> DEV float from_f32<float>(float v) { return v; }
template <> DEV __half from_f32<__half>(float v) { return __float2half_rn(v); }

DEV float warp_sum(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

DEV float warp_max(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Sum over the whole block; every thread gets the result. `scratch` holds one float per warp (32 is enough).
DEV float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < warps; w++) total += scratch[w];
    return total;
}

// Max over the whole block; every thread gets the result. `scratch` as block_sum's.
DEV float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = scratch[0];
    for (int w = 1; w < warps; w++) m = fmaxf(m, scratch[w]);
    return m;
}

// Eight fp16 values in one 16-byte vector, widened to fp32. Bit operations rather than pointer casts, so no
// compiler may assume the uint4 and the halves do not alias.
DEV void unpack8(const uint4& raw, float* out) {
    unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        out[2 * i] = __half2float(__ushort_as_half(static_cast<unsigned short>(words[i] & 0xffffu)));
        out[2 * i + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(words[i] >> 16)));
    }
}

DEV unsigned pack2(float lo, float hi) {
    return static_cast<unsigned>(__half_as_ushort(__float2half_rn(lo)))
           | (static_cast<unsigned>(__half_as_ushort(__float2half_rn(hi))) << 16);
}

DEV uint4 pack8(const float* in) {
    return make_uint4(pack2(in[0], in[1]), pack2(in[2], in[3]), pack2(in[4], in[5]), pack2(in[6], in[7]));
}

// Packed-half2 arithmetic on raw 32-bit words (two fp16 lanes), for kernels that decode weights two values per
// instruction; the host versions (test emulator) round the exact result to fp16 once, as the hardware does.
DEV unsigned h2_fma(unsigned a, unsigned b, unsigned c) {
#ifdef __CUDA_ARCH__
    unsigned d;
    asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
#else
    float fa[2], fb[2], fc[2];
    unsigned short out[2];
    for (int i = 0; i < 2; i++) {
        fa[i] = __half2float(__ushort_as_half(static_cast<unsigned short>(a >> (16 * i))));
        fb[i] = __half2float(__ushort_as_half(static_cast<unsigned short>(b >> (16 * i))));
        fc[i] = __half2float(__ushort_as_half(static_cast<unsigned short>(c >> (16 * i))));
        out[i] = __half_as_ushort(__double2half(static_cast<double>(fa[i]) * fb[i] + fc[i]));
    }
    return out[0] | (static_cast<unsigned>(out[1]) << 16);
#endif
}
DEV float h2_sum(unsigned a) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(a & 0xffffu)))
           + __half2float(__ushort_as_half(static_cast<unsigned short>(a >> 16)));
}
// sum over h < 4 of (v[h] * scale + offset) * x[h], accumulated in half2 from -0 (so exact products stay exact),
// then its two lanes added in fp32: the weight-decoding GEMVs' dot product of eight columns
DEV float h2_dot4(const unsigned* v, const unsigned* x, unsigned scale, unsigned offset) {
    unsigned p = 0x80008000u;
#pragma unroll
    for (int h = 0; h < 4; h++) p = h2_fma(h2_fma(v[h], scale, offset), x[h], p);
    return h2_sum(p);
}
// __byte_perm: byte i of the result is byte (s >> 4i) & 7 of {x, y}
DEV unsigned byte_perm(unsigned x, unsigned y, unsigned s) {
#ifdef __CUDA_ARCH__
    return __byte_perm(x, y, s);
#else
    unsigned long long v = x | (static_cast<unsigned long long>(y) << 32);
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= static_cast<unsigned>((v >> (8 * ((s >> (4 * i)) & 7u))) & 0xffu) << (8 * i);
    return r;
#endif
}

// FP8 e4m3 to fp32, exact for every code (the KV cache's fp8 and the software path of fp8 weights share it): the
// sign-extended byte shifted left by 20 puts sign, exponent and mantissa in fp32 position; 2^120 rebiases the
// exponent (and makes subnormals exact); the NaN codes (S.1111.111, never stored from finite values) stay NaN.
DEV float e4m3_to_float(unsigned b) {
    unsigned bits = static_cast<unsigned>(static_cast<int>(static_cast<signed char>(b))) << 20;
    float v = __uint_as_float(bits & 0x87F00000u) * 0x1p120f;
    return (b & 0x7fu) == 0x7fu ? __uint_as_float(0x7fc00000u) : v;
}

// Weights are read exactly once per step: stream them past L1 so activations stay cached there.
DEV uint4 load_streaming(const void* p) {
#ifdef __CUDA_ARCH__
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(p));
    return v;
#else  // host compilation by the test emulator
    return *reinterpret_cast<const uint4*>(p);
#endif
}

DEV uint4 load_cached(const void* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

// Data another block wrote earlier in the same launch (the decode-layer kernel's stage inputs, layer.cuh) is read
// from L2: the non-coherent path (__ldg, or a plain load of a const __restrict__ pointer, which the compiler may
// turn into one) could return a line an earlier stage left in this SM's L1. Standalone kernels read it this way
// too: every such value is read once per block, so L1 would gain them nothing.
DEV uint4 load_coherent(const void* p) {
#ifdef __CUDA_ARCH__
    uint4 v;
    asm volatile("ld.global.cg.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
#else
    uint4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
#endif
}
DEV float load_coherent(const float* p) { return __ldcg(p); }

// A split barrier across the whole grid of a launch whose blocks are all resident at once (the host launches the
// decode-layer kernel with at most the blocks the GPU holds together): grid_arrive once the block's writes for the
// next stage are issued, grid_wait before it reads what other blocks wrote. In between a block may only read what no
// block writes in the launch (weights) - the decode-layer kernel issues the next stage's weight loads there, so the
// barrier's round trips overlap them. `counter` only grows: it is shared by every launch of the kernel with the same
// grid size, each adding gridDim.x per barrier, so arrival `old` belongs to generation old / gridDim.x, which ends when
// the counter reaches the next multiple (the target grid_arrive returns to thread 0). Thread 0 arrives with a release
// add after the block's __syncthreads (cumulative over the block's writes) and waits with acquire loads; the block's
// other threads wait at __syncthreads. No extra fences: a fence would also wait for the weight loads in flight (on the
// H100 the fenced barrier took 3-8 us from the last block's stage end to the next stage's start). A barrier that has
// not released after 2^24 polls traps, so a launch whose blocks were not all resident fails with an error.
DEV unsigned long long grid_arrive(unsigned long long* counter) {
#ifdef __CUDA_ARCH__
    __syncthreads();
    unsigned long long old = 0;
    if (threadIdx.x == 0) {
        asm volatile("atom.add.release.gpu.global.u64 %0, [%1], 1;" : "=l"(old) : "l"(counter) : "memory");
    }
    return (old / gridDim.x + 1) * gridDim.x;
#else
    (void)counter;
    return 0;
#endif
}
DEV void grid_wait(unsigned long long* counter, unsigned long long target) {
#ifdef __CUDA_ARCH__
    if (threadIdx.x == 0) {
        unsigned long long seen;
        unsigned spins = 0;
        do {
            asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(seen) : "l"(counter) : "memory");
            if (++spins == (1u << 24)) __trap();  // seconds: a block never came (not all resident); fail, not hang
        } while (seen < target);
    }
    __syncthreads();
#elif !defined(__CUDACC__)
    (void)target;
    emu_grid_sync(counter);  // test emulator: every block of the launch reaches the barrier before any goes on
#endif
}

// The GPU's nanosecond clock, for the decode-layer kernel's stage trace (the test emulator: the host's steady clock)
#if !defined(__CUDACC__)
#include <chrono>
#endif
DEV unsigned long long global_ns() {
#ifdef __CUDA_ARCH__
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
#elif !defined(__CUDACC__)
    return (unsigned long long)std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
#else
    return 0;
#endif
}
// Thread 0 writes the clock to `slot` (nothing when it is null)
DEV void stamp(unsigned long long* slot) {
    if (slot != nullptr && threadIdx.x == 0) *slot = global_ns();
}

DEV float silu(float x) { return x / (1.0f + expf(-x)); }

// Programmatic dependent launch (Hopper): every kernel lets the next one in the stream be scheduled as soon as all
// its own blocks are running (pdl_launch), and waits for the previous one to finish before touching memory it wrote
// (pdl_wait). Launched without the PDL attribute (or before sm_90) both are no-ops. Every kernel starts with
// PDL_PROLOGUE, or with a prefetch between the two (the weight-streaming kernels, below).
DEV void pdl_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
DEV void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
#define PDL_PROLOGUE (pdl_launch(), pdl_wait())

// Starts pulling [p, p + bytes) into L2, one 128-byte line per thread and pass. The weight-streaming kernels call it
// between pdl_launch and pdl_wait with the weight rows their block will read: weights never depend on an earlier
// kernel, so their first bytes arrive while the previous kernel drains instead of after it (the gap between two
// memory-bound kernels is what keeps a decode step off the bandwidth floor). Without PDL it is merely early.
DEV void prefetch_l2(const void* p, size_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    const char* c = static_cast<const char*>(p);
    for (size_t off = (size_t)threadIdx.x * 128; off < bytes; off += (size_t)blockDim.x * 128) {
        asm volatile("prefetch.global.L2 [%0];" ::"l"(c + off));
    }
#endif
}

// Asynchronous copies global -> shared memory (cp.async, sm_80+): the staged GEMVs (staged.cuh) stream their weight
// rows into a ring in shared memory, so a block keeps far more loads in flight than its registers could hold, and
// issues them before the PDL wait. A thread's copies complete in the order of its commit groups; cp_async_wait<N>
// returns once at most N of its groups are pending, and then the thread itself may read what the others brought.
// The test emulator copies at once.
DEV void cp_async16(void* smem, const void* gmem) {
#ifdef __CUDA_ARCH__
    unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(s), "l"(gmem) : "memory");
#else
    std::memcpy(smem, gmem, 16);
#endif
}
DEV void cp_async4(void* smem, const void* gmem) {
#ifdef __CUDA_ARCH__
    unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(s), "l"(gmem) : "memory");
#else
    std::memcpy(smem, gmem, 4);
#endif
}
DEV void cp_async_commit() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
template <int N>
DEV void cp_async_wait() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
#endif
}
// The launch's dynamic shared memory in bytes (the test emulator: unchecked, so as large as asked)
DEV unsigned dynamic_shared_bytes() {
#ifdef __CUDA_ARCH__
    unsigned n;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(n));
    return n;
#else
    return ~0u;
#endif
}

// At most this many bytes per block: a big GEMV has up to ~800 blocks resident early, and their prefetches together
// must stay well inside the 50 MB L2 next to the previous kernel's own traffic, or lines are evicted before use.
#define PREFETCH_MAX_BYTES 16384

// prefetch_l2 of the first `cap` bytes of rows [first, first + count) of a row-major matrix of m rows, row_bytes
// each (clamped to m)
DEV void prefetch_rows_l2(const void* w, int m, size_t row_bytes, int first, int count,
                          size_t cap = PREFETCH_MAX_BYTES) {
    int rows = count < m - first ? count : m - first;
    size_t bytes = rows > 0 ? (size_t)rows * row_bytes : 0;
    if (bytes > 0) {
        prefetch_l2(static_cast<const char*>(w) + (size_t)first * row_bytes,
                    bytes < cap ? bytes : cap);
    }
}
