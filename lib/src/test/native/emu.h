// A tiny CUDA execution emulator for testing tinyrt's kernels on a CPU: the kernel sources are compiled by the host
// C++ compiler with the CUDA keywords and intrinsics they use defined here. Each CUDA thread of a block is a fiber
// (a stack and a 7-instruction x86-64 context switch) on one OS thread; __syncthreads and warp shuffles are
// barriers between fibers (threads that have exited no longer count, as on the GPU); blocks run one after another,
// so function-static arrays stand in for __shared__ memory. Dynamic shared memory starts filled with NaN bytes, so
// reading it before writing shows. Build with -fno-strict-aliasing: CUDA code reads arrays of halves through uint4
// pointers, which nvcc allows.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <vector>
#include <cuda_fp16.h>
#include <vector_types.h>
#include <vector_functions.h>

#undef __global__
#define __global__
#undef __device__
#define __device__
#undef __host__
#define __host__
#undef __forceinline__
#define __forceinline__ inline
#undef __shared__
#define __shared__ static
#undef __launch_bounds__
#define __launch_bounds__(...)
#undef __align__
#define __align__(n) __attribute__((aligned(n)))
#define DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(emu::dynamic_shared())

namespace emu {
struct Index { unsigned x, y, z; };
enum State { RUNNABLE, AT_BLOCK, AT_WARP, AT_GRID, DONE };
struct Fiber {
    void* sp;  // saved stack pointer while switched out
    State state;
    Index tid;
    char* stack;
};

// Saves the callee-saved registers on the current stack, stores the stack pointer in *from, switches to `to`'s
// stack and restores its registers (System V x86-64).
extern "C" void emu_switch(void** from, void* to);
asm(R"(
    .text
    .globl emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

inline Index block_idx, block_dim, grid_dim;
inline std::vector<Fiber> fibers;
inline Fiber* current;
inline void* scheduler;
inline std::vector<unsigned long long> warp_slots;  // 32 per warp
inline std::vector<unsigned char> shared_bytes;
inline std::function<void()> body;
constexpr size_t STACK = 128 * 1024;

inline void* dynamic_shared() { return shared_bytes.data(); }

inline void yield(State s) {
    current->state = s;
    emu_switch(&current->sp, scheduler);
}

[[noreturn]] inline void fiber_main() {
    body();
    current->state = DONE;
    emu_switch(&current->sp, scheduler);
    std::abort();  // a finished fiber is never resumed
}

/** A fresh stack whose first switch "returns" into fiber_main with the ABI's entry alignment. */
inline void* initial_stack(char* stack) {
    auto* sp = reinterpret_cast<uintptr_t*>((reinterpret_cast<uintptr_t>(stack) + STACK) & ~uintptr_t{15});
    *--sp = 0;                                            // fiber_main's own return address: never used
    *--sp = reinterpret_cast<uintptr_t>(&fiber_main);     // popped by emu_switch's ret
    for (int i = 0; i < 6; i++) *--sp = 0;                // rbp rbx r12-r15
    return sp;
}

inline unsigned lane() { return current->tid.x & 31; }
inline unsigned warp() { return current->tid.x >> 5; }

template <typename T>
T shuffle_xor(T v, int offset) {
    static_assert(sizeof(T) <= 8, "shuffle of a wide type");
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    warp_slots[warp() * 32 + lane()] = bits;
    yield(AT_WARP);
    bits = warp_slots[warp() * 32 + (lane() ^ offset)];
    yield(AT_WARP);  // nobody overwrites a slot before every lane has read
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}

/** Lane i reads lane src(i)'s value: the general warp shuffle (__shfl_sync, __shfl_up_sync). */
template <typename T, typename Src>
T shuffle_from(T v, Src src) {
    static_assert(sizeof(T) <= 8, "shuffle of a wide type");
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    warp_slots[warp() * 32 + lane()] = bits;
    yield(AT_WARP);
    bits = warp_slots[warp() * 32 + (src(lane()) & 31)];
    yield(AT_WARP);
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}

/**
 * The order threads run in between barriers: EMU_ORDER=forward (default), reverse or shuffled. A kernel that reads
 * shared memory another thread wrote without a barrier in between gives different results in different orders.
 */
inline unsigned order(unsigned i, unsigned n) {
    static const char* mode = std::getenv("EMU_ORDER");
    static unsigned long long seed = 88172645463325252ull;
    if (mode == nullptr || mode[0] == 'f') return i;
    if (mode[0] == 'r') return n - 1 - i;
    // shuffled: a fresh odd stride and offset per pass visit every thread once
    static unsigned stride = 1, offset = 0;
    if (i == 0) {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        stride = static_cast<unsigned>(seed % n) | 1u;
        while (std::gcd(stride, n) != 1) stride += 2;
        offset = static_cast<unsigned>((seed >> 20) % n);
    }
    return static_cast<unsigned>((offset + static_cast<unsigned long long>(i) * stride) % n);
}

/** Fresh fibers for a block of `threads` threads (stacks allocated once per vector slot). */
inline void reset_fibers(std::vector<Fiber>& fs, unsigned threads) {
    if (fs.size() < threads) {
        size_t old = fs.size();
        fs.resize(threads);
        for (size_t i = old; i < threads; i++) fs[i].stack = static_cast<char*>(std::malloc(STACK));
    }
    for (unsigned t = 0; t < threads; t++) {
        Fiber& f = fs[t];
        f.sp = initial_stack(f.stack);
        f.state = RUNNABLE;
        f.tid = {t, 0, 0};
    }
}

/**
 * Runs a block's fibers until every one has finished (returns false) or every live one waits at a grid barrier
 * (returns true): __syncthreads and warp shuffles are released as the block's threads all reach them.
 */
inline bool run_block(std::vector<Fiber>& fs, unsigned threads) {
    for (;;) {
        bool ran = false;
        for (unsigned i = 0; i < threads; i++) {
            unsigned t = order(i, threads);
            if (fs[t].state == RUNNABLE) {
                current = &fs[t];
                emu_switch(&scheduler, fs[t].sp);
                ran = true;
            }
        }
        unsigned live = 0, at_block = 0, at_grid = 0;
        bool released = false;
        for (unsigned w = 0; w * 32 < threads; w++) {
            unsigned wl = 0, at_warp = 0;
            for (unsigned t = w * 32; t < w * 32 + 32 && t < threads; t++) {
                if (fs[t].state != DONE) wl++;
                if (fs[t].state == AT_WARP) at_warp++;
            }
            if (wl > 0 && at_warp == wl) {
                for (unsigned t = w * 32; t < w * 32 + 32 && t < threads; t++) fs[t].state = RUNNABLE;
                released = true;
            }
        }
        for (unsigned t = 0; t < threads; t++) {
            if (fs[t].state != DONE) live++;
            if (fs[t].state == AT_BLOCK) at_block++;
            if (fs[t].state == AT_GRID) at_grid++;
        }
        if (live == 0) return false;
        if (!released && at_grid == live) return true;
        if (!released && at_block == live) {
            for (unsigned t = 0; t < threads; t++)
                if (fs[t].state == AT_BLOCK) fs[t].state = RUNNABLE;
            released = true;
        }
        if (!released && !ran) {
            std::fprintf(stderr, "[emu] deadlock in block (%u,%u,%u): %u live threads, %u at __syncthreads, %u at a grid barrier\n",
                         block_idx.x, block_idx.y, block_idx.z, live, at_block, at_grid);
            std::abort();
        }
    }
}

/** What every launch sets up: the kernel, the grid and block sizes, the warps' shuffle slots. */
inline void begin(const unsigned grid[3], unsigned threads, std::function<void()> kernel) {
    body = std::move(kernel);
    grid_dim = {grid[0], grid[1], grid[2]};
    block_dim = {threads, 1, 1};
    warp_slots.assign((threads + 31) / 32 * 32, 0);
}

/** Runs one launch: every block in turn, each as blockDim fibers. */
inline void launch(const unsigned grid[3], unsigned threads, unsigned shared, std::function<void()> kernel) {
    begin(grid, threads, std::move(kernel));
    for (unsigned z = 0; z < grid[2]; z++)
        for (unsigned y = 0; y < grid[1]; y++)
            for (unsigned x = 0; x < grid[0]; x++) {
                block_idx = {x, y, z};
                shared_bytes.assign(shared + 16, 0xff);
                reset_fibers(fibers, threads);
                if (run_block(fibers, threads)) {
                    std::fprintf(stderr, "[emu] grid barrier in a launch that is not cooperative\n");
                    std::abort();
                }
            }
}

/**
 * Runs a launch whose blocks meet at grid barriers (grid_wait): every block keeps its own fibers; each runs until
 * all its threads wait at the barrier, and when every block has got there all go on. Blocks still run one at a
 * time, so function-static arrays still stand in for __shared__ memory: correct only for kernels that carry nothing
 * in shared memory across a grid barrier, which dynamic shared memory, refilled with NaN bytes at every barrier,
 * checks. A block that finishes while others wait at a barrier is a deadlock on a GPU, and aborts here.
 */
inline void launch_cooperative(const unsigned grid[3], unsigned threads, unsigned shared,
                               std::function<void()> kernel) {
    begin(grid, threads, std::move(kernel));
    unsigned blocks = grid[0] * grid[1] * grid[2];
    static std::vector<std::vector<Fiber>> all;
    if (all.size() < blocks) all.resize(blocks);
    std::vector<char> running(blocks, 1);
    for (unsigned b = 0; b < blocks; b++) reset_fibers(all[b], threads);
    for (unsigned live = blocks; live > 0;) {
        unsigned waiting = 0, finished = 0;
        for (unsigned b = 0; b < blocks; b++) {
            if (!running[b]) continue;
            block_idx = {b % grid[0], (b / grid[0]) % grid[1], b / (grid[0] * grid[1])};
            shared_bytes.assign(shared + 16, 0xff);
            if (run_block(all[b], threads)) {
                waiting++;
            } else {
                running[b] = 0;
                finished++;
            }
        }
        if (waiting > 0 && finished > 0) {
            std::fprintf(stderr, "[emu] deadlock: %u blocks finished while %u wait at a grid barrier\n", finished,
                         waiting);
            std::abort();
        }
        for (unsigned b = 0; b < blocks; b++)
            if (running[b])
                for (unsigned t = 0; t < threads; t++)
                    if (all[b][t].state == AT_GRID) all[b][t].state = RUNNABLE;
        live = waiting;
    }
}
}  // namespace emu

#define threadIdx (emu::current->tid)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

inline void __syncthreads() { emu::yield(emu::AT_BLOCK); }
inline void emu_grid_sync(unsigned long long*) { emu::yield(emu::AT_GRID); }
inline void __threadfence() {}
template <typename T> T __shfl_xor_sync(unsigned, T v, int offset) { return emu::shuffle_xor(v, offset); }
template <typename T> T __shfl_sync(unsigned, T v, int src) {
    return emu::shuffle_from(v, [src](unsigned) { return static_cast<unsigned>(src); });
}
template <typename T> T __shfl_up_sync(unsigned, T v, unsigned delta) {
    return emu::shuffle_from(v, [delta](unsigned l) { return l >= delta ? l - delta : l; });
}
inline unsigned __reduce_xor_sync(unsigned, unsigned v) {
    for (int o = 16; o > 0; o >>= 1) v ^= emu::shuffle_xor(v, o);
    return v;
}
inline int atomicAdd(int* p, int v) { int old = *p; *p += v; return old; }
inline unsigned atomicAdd(unsigned* p, unsigned v) { unsigned old = *p; *p += v; return old; }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { auto old = *p; *p += v; return old; }
inline unsigned atomicXor(unsigned* p, unsigned v) { unsigned old = *p; *p ^= v; return old; }
inline uint4 __ldg(const uint4* p) { return *p; }
inline float __ldcg(const float* p) { return *p; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline int min(int a, int b) { return a < b ? a : b; }
