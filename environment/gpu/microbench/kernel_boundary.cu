// What a kernel boundary costs at batch-1 decode sizes, and whether a counter the producer's blocks release can hand
// over faster than PDL's grid-completion wait. A CUDA graph replays a chain of L GEMV kernels (one warp per row,
// 256-thread blocks, every lane's weight loads issued before the wait, x read through L2 after it), out_i = W_i x_i,
// each kernel's input the previous one's output, in three modes:
//   plain    stream order only (no PDL)
//   pdl      PDL launch; griddepcontrol.wait before x is read (what tinyrt's kernels do)
//   counter  PDL launch; never griddepcontrol.wait: thread 0 spins (ld.acquire.gpu) until the previous kernel's
//            blocks have all done a release add on its counter (counters zeroed by a memset node per replay)
// Outputs are checked equal across the modes (same arithmetic, so the same bits).
// Build: nvcc -O3 -std=c++17 -arch=sm_90 -o kernel_boundary kernel_boundary.cu   Run: ./kernel_boundary OUT.json
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#define CHECK(x)                                                                                \
    do {                                                                                        \
        cudaError_t e_ = (x);                                                                   \
        if (e_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

enum Mode { PLAIN = 0, PDL = 1, COUNTER = 2 };
// Prefetch of a later kernel's weights into L2, issued by each block for the rows the same block index will take
// there: none, one bulk (TMA) prefetch per row (cp.async.bulk.prefetch.L2), or one prefetch.global.L2 per 128 bytes.
enum Prefetch { PF_NONE = 0, PF_BULK = 1, PF_LINES = 2 };
struct Variant {
    const char* name;
    int mode, prefetch, lookahead;
};
static const Variant kVariants[] = {{"plain", PLAIN, PF_NONE, 0},          {"pdl", PDL, PF_NONE, 0},
                                    {"counter", COUNTER, PF_NONE, 0},      {"pdl+bulk1", PDL, PF_BULK, 1},
                                    {"pdl+bulk2", PDL, PF_BULK, 2},        {"pdl+lines1", PDL, PF_LINES, 1},
                                    {"plain+bulk1", PLAIN, PF_BULK, 1},    {"plain+bulk2", PLAIN, PF_BULK, 2}};

__device__ __forceinline__ uint4 load_streaming(const void* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}

template <int MODE, int PF>
__global__ void __launch_bounds__(256) chain_gemv(const __half* __restrict__ w, const __half* x, __half* out, int m,
                                                  int k, const unsigned* wait_counter, unsigned wait_target,
                                                  unsigned* my_counter, const __half* pf_w) {
    if (MODE != PLAIN) asm volatile("griddepcontrol.launch_dependents;");
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int row = blockIdx.x * 8 + warp;
    bool active = row < m;
    const uint4* wrow = reinterpret_cast<const uint4*>(w + (size_t)(active ? row : 0) * k);
    int chunks = active ? k / 8 : 0;
    uint4 wv[8];
#pragma unroll
    for (int u = 0; u < 8; u++) {
        int c = lane + 32 * u;
        wv[u] = c < chunks ? load_streaming(wrow + c) : make_uint4(0, 0, 0, 0);
    }
    if (PF != PF_NONE && pf_w != nullptr && active) {  // this warp's row of the later weight
        const char* r = reinterpret_cast<const char*>(pf_w + (size_t)row * k);
        unsigned bytes = 2u * k;
        if (PF == PF_BULK && lane == 0) {
            asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(r), "r"(bytes) : "memory");
        }
        if (PF == PF_LINES) {
            for (unsigned off = lane * 128u; off < bytes; off += 32u * 128u) asm volatile("prefetch.global.L2 [%0];" ::"l"(r + off));
        }
    }
    if (MODE == PDL) asm volatile("griddepcontrol.wait;" ::: "memory");
    if (MODE == COUNTER && wait_counter != nullptr) {
        if (threadIdx.x == 0) {
            unsigned seen;
            do {
                asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(seen) : "l"(wait_counter) : "memory");
            } while (seen < wait_target);
        }
        __syncthreads();
    }
    float acc = 0.f;
#pragma unroll
    for (int u = 0; u < 8; u++) {
        int c = lane + 32 * u;
        if (c < chunks) {
            uint4 xv = __ldcg(reinterpret_cast<const uint4*>(x) + c);
            const __half2* wh = reinterpret_cast<const __half2*>(&wv[u]);
            const __half2* xh = reinterpret_cast<const __half2*>(&xv);
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float2 a = __half22float2(wh[e]), b = __half22float2(xh[e]);
                acc = fmaf(a.x, b.x, fmaf(a.y, b.y, acc));
            }
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (active && lane == 0) out[row] = __float2half_rn(acc * 0.5f);
    if (MODE == COUNTER) {
        __syncthreads();
        if (threadIdx.x == 0) asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(my_counter) : "memory");
    }
}

struct Shape {
    const char* name;
    int m, k;
};

static double now_s() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
    const char* out_path = argc > 1 ? argv[1] : "kernel_boundary.json";
    const int L = 64, WARM = 20, REPS = 200;
    const Shape shapes[] = {{"2048x64 (0.25 MB)", 2048, 64},
                            {"2048x256 (1 MB)", 2048, 256},
                            {"2048x512 (2 MB)", 2048, 512},
                            {"2048x2048 (8 MB)", 2048, 2048},
                            {"5632x2048 (23 MB)", 5632, 2048}};
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceProperties(&prop, 0));
    int driver = 0;
    CHECK(cudaDriverGetVersion(&driver));
    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));

    std::string json = "{\n  \"gpu\": \"" + std::string(prop.name) + "\",\n  \"cuda_driver_version\": " +
                       std::to_string(driver) + ",\n  \"kernels_per_graph\": " + std::to_string(L) +
                       ",\n  \"replays\": " + std::to_string(REPS) + ",\n  \"rows\": [\n";
    bool first_row = true, all_equal = true;
    for (const Shape& s : shapes) {
        size_t wbytes = (size_t)s.m * s.k * 2;
        int vec = s.m > s.k ? s.m : s.k;
        __half* w;
        CHECK(cudaMalloc(&w, wbytes * L));
        std::vector<__half> hw((size_t)s.m * s.k);
        for (int i = 0; i < L; i++) {  // small values so the chain stays finite; different per kernel
            unsigned seed = 12345u + 977u * i;
            for (auto& v : hw) {
                seed = seed * 1664525u + 1013904223u;
                v = __float2half(((seed >> 9) & 1023) / 1024.0f - 0.5f);
            }
            CHECK(cudaMemcpy(w + (size_t)i * s.m * s.k, hw.data(), wbytes, cudaMemcpyHostToDevice));
        }
        __half* bufs;  // x_0 .. x_L, each [vec]
        CHECK(cudaMalloc(&bufs, sizeof(__half) * vec * (L + 1)));
        std::vector<__half> hx(vec);
        for (int i = 0; i < vec; i++) hx[i] = __float2half((i % 17) / 17.0f - 0.4f);
        unsigned* counters;
        CHECK(cudaMalloc(&counters, sizeof(unsigned) * L));
        int blocks = (s.m + 7) / 8;
        std::vector<__half> first_out;  // the first variant's output, which every other must equal
        for (const Variant& var : kVariants) {
            int mode = var.mode;
            CHECK(cudaMemset(bufs, 0, sizeof(__half) * vec * (L + 1)));
            CHECK(cudaMemcpy(bufs, hx.data(), sizeof(__half) * vec, cudaMemcpyHostToDevice));
            cudaGraph_t graph;
            CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
            if (mode == COUNTER) CHECK(cudaMemsetAsync(counters, 0, sizeof(unsigned) * L, stream));
            for (int i = 0; i < L; i++) {
                cudaLaunchConfig_t cfg = {};
                cfg.gridDim = dim3(blocks);
                cfg.blockDim = dim3(256);
                cfg.stream = stream;
                cudaLaunchAttribute attr[1];
                attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
                attr[0].val.programmaticStreamSerializationAllowed = 1;
                cfg.attrs = attr;
                cfg.numAttrs = (mode != PLAIN && i > 0) ? 1 : 0;
                const __half* wi = w + (size_t)i * s.m * s.k;
                const __half* xi = bufs + (size_t)i * vec;
                __half* oi = bufs + (size_t)(i + 1) * vec;
                const unsigned* wc = (mode == COUNTER && i > 0) ? counters + i - 1 : nullptr;
                unsigned target = (unsigned)blocks;
                unsigned* mc = counters + i;
                int later = i + var.lookahead;
                const __half* pw = var.prefetch != PF_NONE && later < L ? w + (size_t)later * s.m * s.k : nullptr;
                auto launch = [&](auto kernel) { CHECK(cudaLaunchKernelEx(&cfg, kernel, wi, xi, oi, s.m, s.k, wc, target, mc, pw)); };
                if (mode == PLAIN && var.prefetch == PF_NONE) launch(chain_gemv<PLAIN, PF_NONE>);
                if (mode == PLAIN && var.prefetch == PF_BULK) launch(chain_gemv<PLAIN, PF_BULK>);
                if (mode == PDL && var.prefetch == PF_NONE) launch(chain_gemv<PDL, PF_NONE>);
                if (mode == PDL && var.prefetch == PF_BULK) launch(chain_gemv<PDL, PF_BULK>);
                if (mode == PDL && var.prefetch == PF_LINES) launch(chain_gemv<PDL, PF_LINES>);
                if (mode == COUNTER) launch(chain_gemv<COUNTER, PF_NONE>);
            }
            CHECK(cudaStreamEndCapture(stream, &graph));
            cudaGraphExec_t exec;
            CHECK(cudaGraphInstantiate(&exec, graph, 0));
            for (int r = 0; r < WARM; r++) CHECK(cudaGraphLaunch(exec, stream));
            CHECK(cudaStreamSynchronize(stream));
            std::vector<float> per_replay;
            double t0 = now_s();
            for (int r = 0; r < REPS; r++) {
                CHECK(cudaEventRecord(e0, stream));
                CHECK(cudaGraphLaunch(exec, stream));
                CHECK(cudaEventRecord(e1, stream));
                CHECK(cudaEventSynchronize(e1));
                float ms;
                CHECK(cudaEventElapsedTime(&ms, e0, e1));
                per_replay.push_back(ms * 1000.f);
            }
            double wall = now_s() - t0;
            std::vector<float> sorted = per_replay;
            std::sort(sorted.begin(), sorted.end());
            float median = sorted[sorted.size() / 2], best = sorted.front();
            std::vector<__half> out(vec);
            CHECK(cudaMemcpy(out.data(), bufs + (size_t)L * vec, sizeof(__half) * vec, cudaMemcpyDeviceToHost));
            bool equal = true;
            if (first_out.empty()) {
                first_out = out;
            } else {
                equal = memcmp(out.data(), first_out.data(), sizeof(__half) * s.m) == 0;
                all_equal = all_equal && equal;
            }
            double per_kernel = median / L;
            double gbs = wbytes / (per_kernel * 1e-6) / 1e9;
            printf("%-18s %-8s median %8.1f us per replay, %6.2f us per kernel (%5.0f GB/s), best %6.2f, output %s\n",
                   s.name, var.name, median, per_kernel, gbs, best / L, equal ? "equal" : "DIFFERENT");
            char row[512];
            snprintf(row, sizeof row,
                     "%s    {\"shape\": \"%s\", \"m\": %d, \"k\": %d, \"weight_bytes\": %zu, \"blocks\": %d, "
                     "\"mode\": \"%s\", \"median_us_per_replay\": %.2f, \"us_per_kernel\": %.3f, "
                     "\"best_us_per_kernel\": %.3f, \"weight_gb_s\": %.0f, \"output_equal_to_plain\": %s}",
                     first_row ? "" : ",\n", s.name, s.m, s.k, wbytes, blocks, var.name, median, per_kernel,
                     best / L, gbs, equal ? "true" : "false");
            json += row;
            first_row = false;
            (void)wall;
            CHECK(cudaGraphExecDestroy(exec));
            CHECK(cudaGraphDestroy(graph));
        }
        CHECK(cudaFree(w));
        CHECK(cudaFree(bufs));
        CHECK(cudaFree(counters));
    }
    json += "\n  ],\n  \"outputs_equal\": " + std::string(all_equal ? "true" : "false") + "\n}\n";
    FILE* f = fopen(out_path, "w");
    if (f == nullptr) {
        perror(out_path);
        return 1;
    }
    fputs(json.c_str(), f);
    fclose(f);
    return all_equal ? 0 : 2;
}
