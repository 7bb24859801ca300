// A fake CUDA driver (libcuda.so.1) for testing tinyrt's Java bindings on machines without a GPU.
// "Device" memory is host memory, tracked allocation by allocation. Kernels are not run (except argmax, whose ids
// feed the next step): every launch is instead checked against the kernel's signature — grid/block/shared-memory
// limits, and every pointer argument must lie inside a live allocation for the extent the kernel would touch,
// reading the step metadata (positions, slots, block tables, tiles) from "device" memory as the kernel would.
// Stream capture records launches into graphs; replays check them again against the current metadata.
// fake_report() returns counters for tests (live allocations, graphs, events, invalid launches, ...).
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
#define OK 0
#define ERR_INVALID_VALUE 1
#define ERR_NOT_FOUND 500
#define ERR_INVALID_HANDLE 400
#define ERR_CAPTURE_UNSUPPORTED 900

// ---- bookkeeping ---------------------------------------------------------------------------------------------
typedef struct { uintptr_t p; size_t n; } Block;
static Block *dev; static int ndev, cdev;
static long long dev_bytes, host_live, events_live, streams_live, graphs_live, execs_live, launches, invalid, unknown_fn;
static long long replays, captured_launches, memcpys, contexts;
static long long walked;  // GEMV launches with fewer blocks than row groups (each block walks several)
// 80 GiB of "device" memory, or FAKE_CUDA_TOTAL_MIB (tests of memory-based sizing)
static unsigned long long total_bytes(void) {
    const char *mib = getenv("FAKE_CUDA_TOTAL_MIB");
    return mib ? strtoull(mib, NULL, 10) << 20 : 80ull << 30;
}
#define TOTAL total_bytes()
// FAKE_CUDA_TIMING=1, for timing tinyrt's host side (LargeBatchScenario measure): replays skip the argument checks
// their capture already made, and the sampling/argmax stand-ins pick token 0 without scanning the logits, so the
// fake's own work does not grow with the batch and hide the host cost being measured
static int timing_only(void) {
    static int v = -1;
    if (v < 0) { const char *t = getenv("FAKE_CUDA_TIMING"); v = t && *t == '1'; }
    return v;
}

static void fail(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    fprintf(stderr, "[fake-cuda] INVALID: "); vfprintf(stderr, fmt, ap); fprintf(stderr, "\n");
    va_end(ap);
    invalid++;
}

static int find_block(uintptr_t p) {
    for (int i = 0; i < ndev; i++) if (p >= dev[i].p && p < dev[i].p + dev[i].n) return i;
    return -1;
}

// [p, p + bytes) inside one live allocation
static int inside(CUdeviceptr p, unsigned long long bytes) {
    int i = find_block((uintptr_t)p);
    return i >= 0 && (uintptr_t)p + bytes <= dev[i].p + dev[i].n;
}

#define NEED(ptr, bytes, what) do { if (!inside((CUdeviceptr)(ptr), (unsigned long long)(bytes))) { \
    fail("%s: %s 0x%llx + %llu bytes is outside device memory", k, what, (unsigned long long)(ptr), \
         (unsigned long long)(bytes)); return 0; } } while (0)
#define CHECK(cond, ...) do { if (!(cond)) { fail(__VA_ARGS__); return 0; } } while (0)

// ---- errors, init, device ------------------------------------------------------------------------------------
CUresult cuGetErrorName(CUresult e, const char **s) { *s = e == 0 ? "CUDA_SUCCESS" : "CUDA_ERROR_FAKE"; return OK; }
CUresult cuGetErrorString(CUresult e, const char **s) { *s = e == 0 ? "no error" : "rejected by the fake driver"; return OK; }
CUresult cuInit(unsigned f) { return OK; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int *c) { *c = 1; return OK; }
CUresult cuDeviceGet(int *d, int o) { if (o != 0) return ERR_INVALID_VALUE; *d = 0; return OK; }
CUresult cuDeviceGetName(char *n, int len, int d) { snprintf(n, len, "Fake GPU (tinyrt test driver)"); return OK; }
CUresult cuDeviceGetAttribute(int *v, int a, int d) {
    switch (a) {
        case 75: *v = 9; break;          // compute capability major
        case 76: *v = 0; break;
        case 16: *v = getenv("FAKE_CUDA_SMS") ? atoi(getenv("FAKE_CUDA_SMS")) : 132; break;  // SMs
        case 36: *v = 2619000; break;    // memory clock kHz
        case 37: *v = 5120; break;       // bus width
        default: *v = 1; break;
    }
    return OK;
}
CUresult cuDeviceTotalMem_v2(size_t *b, int d) { *b = TOTAL; return OK; }
static int the_context;
CUresult cuDevicePrimaryCtxRetain(void **c, int d) { *c = &the_context; contexts++; return OK; }
CUresult cuCtxSetCurrent(void *c) { return c == &the_context ? OK : ERR_INVALID_HANDLE; }
CUresult cuCtxSynchronize(void) { return OK; }

// ---- modules and functions -----------------------------------------------------------------------------------
static char *image; static size_t image_size;
static char *names[256]; static int nnames;
CUresult cuModuleLoadData(void **m, const void *img) {
    const uint32_t *h = img;
    if (h[0] != 0xBA55ED50u) { fprintf(stderr, "[fake-cuda] module image is not a fatbin\n"); return ERR_INVALID_VALUE; }
    image_size = 16 + ((const uint64_t *)img)[1];
    image = malloc(image_size);
    memcpy(image, img, image_size);
    *m = image;
    return OK;
}
CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
    char pattern[256];
    snprintf(pattern, sizeof pattern, ".entry %s(", name);
    if (m != image || !memmem(image, image_size, pattern, strlen(pattern))) {
        fprintf(stderr, "[fake-cuda] no kernel %s in the module\n", name);
        unknown_fn++;
        return ERR_NOT_FOUND;
    }
    for (int i = 0; i < nnames; i++) if (!strcmp(names[i], name)) { *f = names[i]; return OK; }
    names[nnames] = strdup(name);
    *f = names[nnames++];
    return OK;
}
// kernels whose dynamic shared memory limit was raised (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8), and to what
static struct { const char *fn; int bytes; } opt_in[64];
static int nopt_in;
CUresult cuFuncSetAttribute(void *f, int a, int v) {
    if (a != 8) return OK;
    if (v < 0 || v > 227 * 1024) return ERR_INVALID_VALUE;  // the most an sm_80 / sm_90 block may have
    for (int i = 0; i < nopt_in; i++) if (!strcmp(opt_in[i].fn, (const char *)f)) { opt_in[i].bytes = v; return OK; }
    if (nopt_in == 64) return ERR_INVALID_VALUE;
    opt_in[nopt_in].fn = (const char *)f;
    opt_in[nopt_in++].bytes = v;
    return OK;
}
static unsigned shared_limit(const char *fn) {
    for (int i = 0; i < nopt_in; i++) if (!strcmp(opt_in[i].fn, fn)) return opt_in[i].bytes > 48 * 1024 ? opt_in[i].bytes : 48 * 1024;
    return 48 * 1024;
}
// two blocks of any kernel per SM: with FAKE_CUDA_SMS=1 a capped grid (the decode GEMVs) is two blocks
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, void *f, int block, size_t smem) {
    if (block < 1 || block > 1024) return ERR_INVALID_VALUE;
    *n = 2;
    return OK;
}

// ---- memory --------------------------------------------------------------------------------------------------
CUresult cuMemGetInfo_v2(size_t *free_b, size_t *total) { *free_b = TOTAL - dev_bytes; *total = TOTAL; return OK; }
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) {
    if (n == 0) return ERR_INVALID_VALUE;
    void *m = aligned_alloc(256, (n + 255) / 256 * 256);
    memset(m, 0xff, n);  // NaN-ish garbage, as uninitialized device memory may be
    if (ndev == cdev) { cdev = cdev ? 2 * cdev : 64; dev = realloc(dev, cdev * sizeof(Block)); }
    dev[ndev++] = (Block){(uintptr_t)m, n};
    dev_bytes += n;
    *p = (CUdeviceptr)(uintptr_t)m;
    return OK;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    for (int i = 0; i < ndev; i++) if (dev[i].p == (uintptr_t)p) {
        dev_bytes -= dev[i].n;
        free((void *)dev[i].p);
        dev[i] = dev[--ndev];
        return OK;
    }
    fprintf(stderr, "[fake-cuda] cuMemFree of 0x%llx, which is not an allocation\n", p);
    invalid++;
    return ERR_INVALID_VALUE;
}
CUresult cuMemAllocHost_v2(void **p, size_t n) { *p = aligned_alloc(4096, (n + 4095) / 4096 * 4096); host_live++; return OK; }
CUresult cuMemFreeHost(void *p) { free(p); host_live--; return OK; }

// ---- streams and capture -------------------------------------------------------------------------------------
#define MAX_PARAMS 80  // the decode-layer kernels take 58 (fp16) or 74 (quantized)
typedef struct { const char *fn; unsigned g[3], b, smem; int nparams; unsigned char params[MAX_PARAMS][8]; } Launch;
typedef struct { Launch *l; int n, cap; } LaunchList;
typedef struct { int capturing; LaunchList rec; } Stream;

static const char *k = "";  // the kernel being checked, for messages
static int check_launch(const Launch *l);
static void run_launch(const Launch *l);
static CUresult enqueue(Launch *l, void *stream);

static CUresult copy_check(const char *what, CUdeviceptr dptr, size_t n, void *stream) {
    if (stream && ((Stream *)stream)->capturing) { fprintf(stderr, "[fake-cuda] %s while capturing\n", what); invalid++; return ERR_CAPTURE_UNSUPPORTED; }
    k = what;
    if (!inside(dptr, n)) { fail("%s: 0x%llx + %zu bytes outside device memory", what, dptr, n); return ERR_INVALID_VALUE; }
    memcpys++;
    return OK;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) { CUresult r = copy_check("cuMemcpyHtoD", d, n, 0); if (!r) memcpy((void *)(uintptr_t)d, s, n); return r; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, void *st) { CUresult r = copy_check("cuMemcpyHtoDAsync", d, n, st); if (!r) memcpy((void *)(uintptr_t)d, s, n); return r; }
CUresult cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, void *st) { CUresult r = copy_check("cuMemcpyDtoHAsync", s, n, st); if (!r) memcpy(d, (void *)(uintptr_t)s, n); return r; }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void *st) {
    CUresult r = copy_check("cuMemcpyDtoDAsync dst", d, n, st);
    if (!r) r = copy_check("cuMemcpyDtoDAsync src", s, n, st);
    if (!r) memmove((void *)(uintptr_t)d, (void *)(uintptr_t)s, n);
    return r;
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void *st) { CUresult r = copy_check("cuMemsetD8Async", d, n, st); if (!r) memset((void *)(uintptr_t)d, v, n); return r; }

CUresult cuStreamCreate(void **s, unsigned f) { *s = calloc(1, sizeof(Stream)); streams_live++; return OK; }
CUresult cuStreamDestroy_v2(void *s) { free(((Stream *)s)->rec.l); free(s); streams_live--; return OK; }
CUresult cuStreamSynchronize(void *s) { return ((Stream *)s)->capturing ? ERR_CAPTURE_UNSUPPORTED : OK; }
CUresult cuStreamBeginCapture_v2(void *s, int mode) {
    Stream *st = s;
    if (st->capturing) return ERR_INVALID_VALUE;
    if (mode != 2) fprintf(stderr, "[fake-cuda] note: capture mode %d\n", mode);
    st->capturing = 1;
    st->rec = (LaunchList){0};
    return OK;
}
CUresult cuStreamEndCapture(void *s, void **graph) {
    Stream *st = s;
    if (!st->capturing) return ERR_INVALID_VALUE;
    st->capturing = 0;
    LaunchList *g = malloc(sizeof(LaunchList));
    *g = st->rec;
    st->rec = (LaunchList){0};
    *graph = g;
    graphs_live++;
    return OK;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
    LaunchList *g = graph, *e = malloc(sizeof(LaunchList));
    e->n = e->cap = g->n;
    e->l = malloc(sizeof(Launch) * (g->n ? g->n : 1));
    memcpy(e->l, g->l, sizeof(Launch) * g->n);
    *exec = e;
    execs_live++;
    return OK;
}
CUresult cuGraphLaunch(void *exec, void *s) {
    LaunchList *e = exec;
    if (((Stream *)s)->capturing) return ERR_CAPTURE_UNSUPPORTED;
    replays++;
    for (int i = 0; i < e->n; i++) {
        if (!timing_only() && !check_launch(&e->l[i])) return ERR_INVALID_VALUE;
        run_launch(&e->l[i]);
    }
    return OK;
}
CUresult cuGraphExecDestroy(void *e) { free(((LaunchList *)e)->l); free(e); execs_live--; return OK; }
CUresult cuGraphDestroy(void *g) { free(((LaunchList *)g)->l); free(g); graphs_live--; return OK; }

// ---- events --------------------------------------------------------------------------------------------------
CUresult cuEventCreate(void **e, unsigned f) { *e = malloc(8); events_live++; return OK; }
CUresult cuEventRecord(void *e, void *s) { return OK; }
CUresult cuEventSynchronize(void *e) { return OK; }
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) { *ms = 0.01f; return OK; }
CUresult cuEventDestroy_v2(void *e) { free(e); events_live--; return OK; }

// ---- kernel launches -----------------------------------------------------------------------------------------
static unsigned long long P(const Launch *l, int i) { unsigned long long v; memcpy(&v, l->params[i], 8); return v; }
static int I(const Launch *l, int i) { int v; memcpy(&v, l->params[i], 4); return v; }
static long long L(const Launch *l, int i) { long long v; memcpy(&v, l->params[i], 8); return v; }
static float F(const Launch *l, int i) { float v; memcpy(&v, l->params[i], 4); return v; }
static int RD(unsigned long long p, long long i) { return ((int *)(uintptr_t)p)[i]; }
static float F2(unsigned long long p, long long i) { return ((float *)(uintptr_t)p)[i]; }
static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

// Byte offset of a slot in a KV cache of es-byte elements (2: fp16; 1: the _int8 / _fp8 kernels' caches).
static size_t cache_off(int block, int kvh, int off, int kvheads, int bs, int hd, int es) {
    return ((size_t)(block * kvheads + kvh) * bs + off) * hd * es;
}

static int kv_element_bytes(const char *name) { return strstr(name, "_int8") || strstr(name, "_fp8") ? 1 : 2; }

// A staged GEMV (staged.cuh) takes the arguments of the register kernel of the same name without "staged_".
static const char *unstaged(const char *name, char *buf, size_t n) {
    const char *at = strstr(name, "staged_");
    if (!at) return name;
    snprintf(buf, n, "%.*s%s", (int)(at - name), name, at + strlen("staged_"));
    return buf;
}

// Dynamic shared memory of a staged GEMV: the norm's x, then D passes of U 16-byte chunks and the scale words per
// thread (staged.cuh's Staged<...>, KernelNames.stagedShared)
static unsigned staged_shared(int w8, int w4, int norm, int k) {
    int u = w4 ? 2 : w8 ? 4 : 8, d = w4 ? 10 : w8 ? 6 : 3, words = w4 ? 2 : w8 ? 1 : 0;
    return (norm ? 2u * k : 0u) + 16u * d * u * 256 + 4u * d * words * 256;
}

static int expected_params(const char *staged_name) {
    char buf[128];
    const char *name = unstaged(staged_name, buf, sizeof buf);
    static const struct { const char *prefix; int n; } table[] = {{"cublas_gemm", 10},
        {"tinyrt_embed_", 4}, {"tinyrt_add_rms_norm_", 6}, {"tinyrt_rms_norm_", 5}, {"tinyrt_add_", 3},
        {"tinyrt_swiglu", 4}, {"tinyrt_gather_rows", 4}, {"tinyrt_f32_to_f16", 3}, {"tinyrt_bf16_to_f16", 3},
        {"tinyrt_argmax_f32", 3}, {"tinyrt_sample_f32", 8}, {"tinyrt_read_probe", 3}, {"tinyrt_spin", 1}, {"tinyrt_rope_store_kv", 13},
        {"tinyrt_gemv_", 5}, {"tinyrt_qgemv_", 9}, {"tinyrt_dequant_", 8}, {"tinyrt_quant_e4m3", 4}, {"tinyrt_quant_int8_token", 4}, {"tinyrt_attn_decode_", 23}, {"tinyrt_attn_prefill_", 14}};
    static const struct { const char *name; int n; } fused[] = {{"tinyrt_gemv_res_f16", 7}, {"tinyrt_gemv_norm_f16", 10},
        {"tinyrt_gemv_gate_up_norm", 9}, {"tinyrt_qgemv_w8_res", 11}, {"tinyrt_qgemv_w4_res", 11}, {"tinyrt_qgemv_w8_norm", 14},
        {"tinyrt_qgemv_w4_norm", 14}, {"tinyrt_qgemv_w8_gate_up_norm", 13}, {"tinyrt_qgemv_w4_gate_up_norm", 13},
        {"tinyrt_qgemv_w8_pre_res", 11}, {"tinyrt_qgemv_w4_pre_res", 11}, {"tinyrt_qgemv_w8_pre_norm", 14},
        {"tinyrt_qgemv_w4_pre_norm", 14}, {"tinyrt_qgemv_w8_pre_gate_up_norm", 13}, {"tinyrt_qgemv_w4_pre_gate_up_norm", 13}};
    for (unsigned i = 0; i < sizeof fused / sizeof fused[0]; i++) if (!strcmp(name, fused[i].name)) return fused[i].n;
    if (starts(name, "tinyrt_layer_")) return starts(name, "tinyrt_layer_f16") ? 63 : 79;
    // the GEMVs (not the gate|up ones) take a split-K count after k
    if (starts(name, "tinyrt_gemv_") || starts(name, "tinyrt_qgemv_")) return (starts(name, "tinyrt_gemv_") ? 5 : 9) + !strstr(name, "gate_up");
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) if (starts(name, table[i].prefix)) return table[i].n;
    return -1;
}

// The checks both decode attentions share (latency: attention.cuh, batched: attention_batch.cuh; the same arguments),
// after each has checked its own grid and block: the scales, every row's qkv, output, partials, split counter (one
// per row and block along x, all 0 between launches) and the cache blocks its context spans, and with fuse_rope the
// cos/sin rows and the slot the new key is written to. es: bytes per cache element (from the kernel's name).
static int check_decode(const Launch *l, int d) {
    unsigned gx = l->g[0], gz = l->g[2], n = l->g[1];
    int stride = I(l, 1), width = I(l, 7), bs = I(l, 8), heads = I(l, 9), kv = I(l, 10), es = kv_element_bytes(k);
    int split = I(l, 11), splits = I(l, 12);
    CHECK(es == 1 ? F(l, 22) > 0 && isfinite(F(l, 22)) : F(l, 22) == 1.0f, "%s: kv_scale %g", k, F(l, 22));
    CHECK(stride == (heads + 2 * kv) * d && gz == (unsigned)splits, "%s: stride %d heads %d/%d splits %d grid z %u",
          k, stride, heads, kv, splits, gz);
    CHECK(fabsf(F(l, 13) - 1.0f / sqrtf((float)d)) < 1e-6f, "%s: scale %g", k, F(l, 13));
    NEED(P(l, 0), n * (unsigned long long)stride * 2, "qkv");
    NEED(P(l, 4), 4ull * n, "positions");
    NEED(P(l, 5), 4ull * n, "row_seq");
    NEED(P(l, 14), 4ull * n * heads * splits * d, "part_o");
    NEED(P(l, 15), 8ull * n * heads * splits, "part_ml");
    NEED(P(l, 16), 4ull * n * gx, "counters");
    NEED(P(l, 17), 2ull * n * heads * d, "out");
    for (unsigned r = 0; r < n; r++) {
        int pos = RD(P(l, 4), r), seq = RD(P(l, 5), r);
        CHECK(pos >= 0 && pos < width * bs && pos < split * splits, "%s: position %d, capacity %d", k, pos, width * bs);
        NEED(P(l, 6) + 4ull * seq * width, 4ull * width, "block table row");
        for (int j = 0; j <= pos; j += bs) {
            int blk = RD(P(l, 6), (long long)seq * width + j / bs);
            NEED(P(l, 2) + cache_off(blk, kv - 1, bs - 1, kv, bs, d, es), d * es, "k block");
            NEED(P(l, 3) + cache_off(blk, kv - 1, bs - 1, kv, bs, d, es), d * es, "v block");
        }
    }
    for (unsigned i = 0; i < n * gx; i++) CHECK(RD(P(l, 16), i) == 0, "%s: split counter %u is %d, not 0", k, i, RD(P(l, 16), i));
    int fused = I(l, 21);
    CHECK(fused == 0 || fused == 1, "%s: fuse_rope %d", k, fused);
    if (fused) {  // RoPE + KV write of each row: cos/sin rows, the slot in the cache
        NEED(P(l, 20), 4ull * n, "slots");
        for (unsigned r = 0; r < n; r++) {
            int pos = RD(P(l, 4), r), slot = RD(P(l, 20), r), seq = RD(P(l, 5), r);
            NEED(P(l, 18) + (unsigned long long)pos * d / 2 * 4, d / 2 * 4, "cos row");
            NEED(P(l, 19) + (unsigned long long)pos * d / 2 * 4, d / 2 * 4, "sin row");
            CHECK(slot == RD(P(l, 6), (long long)seq * width + pos / bs) * bs + pos % bs,
                  "%s: slot %d of row %u does not match its block table", k, slot, r);
            NEED(P(l, 2) + cache_off(slot / bs, kv - 1, slot % bs, kv, bs, d, es), d * es, "k cache slot");
        }
    }
    return 1;
}

// The decode-layer kernel (layer.cuh): a grid-barrier counter and the attention's row count, then the arguments of
// the five launches it replaces, each checked as that launch (with the grid, block and shared memory it would have
// had); its own grid must be resident at once (two blocks per SM here, as cuOccupancyMaxActiveBlocksPerMultiprocessor
// says) and its shared memory must hold the largest staged x.
static int check_layer(const Launch *l) {
    const char *name = l->fn;
    int q = !starts(name, "tinyrt_layer_f16"), d;
    CHECK(sscanf(strstr(name, "_d"), "_d%d", &d) == 1 && d == 64, "%s: name", name);
    const char *f = starts(name, "tinyrt_layer_w8") ? "w8" : "w4";
    int sms = getenv("FAKE_CUDA_SMS") ? atoi(getenv("FAKE_CUDA_SMS")) : 132;
    CHECK(l->b == 256 && l->g[1] == 1 && l->g[2] == 1 && l->g[0] >= 1 && l->g[0] <= 2u * sms,
          "%s: grid %ux%ux%u block %u (at most %d blocks are resident at once)", name, l->g[0], l->g[1], l->g[2], l->b,
          2 * sms);
    NEED(P(l, 0), 8, "grid barrier counter");
    CHECK(I(l, 2) >= 0 && I(l, 2) <= 6 && I(l, 3) >= 0, "%s: prefetch lookahead %d, cap %d", name, I(l, 2), I(l, 3));
    {  // the next layer's q|k|v weight and scales it prefetches: shaped as this layer's
        int qm = I(l, 7 + (q ? 11 : 7)), qk = I(l, 7 + (q ? 12 : 8)), w4 = q && !strcmp(f, "w4");
        if (P(l, 4)) NEED(P(l, 4), (unsigned long long)qm * (q ? (w4 ? qk / 2 : qk) : 2 * qk), "next q|k|v weight");
        CHECK(q || !P(l, 5), "%s: scales for fp16 weights", name);
        if (P(l, 5)) NEED(P(l, 5), (unsigned long long)qm * (w4 ? 2 * (qk / I(l, 9)) : 4), "next q|k|v scales");
    }
    if (P(l, 6)) NEED(P(l, 6), 12ull * 8 * l->g[0], "stage trace");
    const int sizes[2][5] = {{10, 23, 7, 9, 7}, {14, 23, 11, 13, 11}};
    char names[5][64];
    if (q) {
        snprintf(names[0], 64, "tinyrt_qgemv_%s_norm", f);
        snprintf(names[2], 64, "tinyrt_qgemv_%s_res", f);
        snprintf(names[3], 64, "tinyrt_qgemv_%s_gate_up_norm", f);
        snprintf(names[4], 64, "tinyrt_qgemv_%s_res", f);
    } else {
        snprintf(names[0], 64, "tinyrt_gemv_norm_f16");
        snprintf(names[2], 64, "tinyrt_gemv_res_f16");
        snprintf(names[3], 64, "tinyrt_gemv_gate_up_norm");
        snprintf(names[4], 64, "tinyrt_gemv_res_f16");
    }
    snprintf(names[1], 64, "tinyrt_attn_decode_d%d_g1", d);
    long long walked_before = walked;
    int at = 7, kmax = 0, base = q ? 5 : 1;
    for (int s = 0; s < 5; s++) {
        Launch sub = {.fn = names[s], .g = {1, 1, 1}, .b = 256, .smem = 0, .nparams = sizes[q][s]};
        memcpy(sub.params, l->params[at], 8ull * sizes[q][s]);
        if (s == 1) {  // one head per work item: the counters are laid out for a grid of `heads` blocks per row
            sub.g[0] = I(&sub, 9);
            sub.g[1] = I(l, 1);
            sub.g[2] = I(&sub, 12);
            sub.b = 128;
        } else {
            int norm = s == 0 || s == 3, kk = I(&sub, norm ? base + 7 : base + 4);  // k after the norm's arguments
            kmax = kk > kmax ? kk : kmax;
            if (norm) sub.smem = 2 * kk;
        }
        if (!check_launch(&sub)) return 0;
        k = name;
        at += sizes[q][s];
    }
    walked = walked_before;
    CHECK(l->smem >= 2u * kmax, "%s: %u bytes of shared memory for an x of %d columns", name, l->smem, kmax);
    return 1;
}

static int check_launch(const Launch *l) {
    k = l->fn;
    CHECK(l->nparams == expected_params(k), "%s: %d arguments, the kernel takes %d", k, l->nparams, expected_params(k));
    unsigned gx = l->g[0], gy = l->g[1], gz = l->g[2], b = l->b;
    CHECK(gx >= 1 && gy >= 1 && gz >= 1 && gy <= 65535 && gz <= 65535, "%s: grid %ux%ux%u", k, gx, gy, gz);
    CHECK(b >= 1 && b <= 1024, "%s: block %u", k, b);
    CHECK(l->smem <= shared_limit(k), "%s: %u bytes of dynamic shared memory, the kernel's limit is %u (raise it first)",
          k, l->smem, shared_limit(k));
    int nt;
    if (starts(k, "tinyrt_layer_")) return check_layer(l);
    if (starts(k, "tinyrt_embed_")) {
        int out4 = strstr(k, "f32") != 0, cols = I(l, 3);
        NEED(P(l, 1), 4ull * gx, "ids");
        NEED(P(l, 2), (unsigned long long)gx * cols * (out4 ? 4 : 2), "out");
        for (unsigned r = 0; r < gx; r++) NEED(P(l, 0) + (unsigned long long)RD(P(l, 1), r) * cols * 2, cols * 2ull, "table row");
    } else if (starts(k, "tinyrt_add_rms_norm_")) {
        int r4 = strstr(k, "f32") != 0, cols = I(l, 5);
        NEED(P(l, 0), (unsigned long long)gx * cols * (r4 ? 4 : 2), "residual");
        NEED(P(l, 1), gx * cols * 2ull, "delta");
        NEED(P(l, 2), cols * 2ull, "gamma");
        CHECK(F(l, 3) > 0 && F(l, 3) < 1, "%s: eps %g", k, F(l, 3));
        NEED(P(l, 4), gx * cols * 2ull, "out");
    } else if (starts(k, "tinyrt_rms_norm_")) {
        int x4 = strstr(k, "f32") != 0, cols = I(l, 4);
        NEED(P(l, 0), (unsigned long long)gx * cols * (x4 ? 4 : 2), "x");
        NEED(P(l, 1), cols * 2ull, "gamma");
        CHECK(F(l, 2) > 0 && F(l, 2) < 1, "%s: eps %g", k, F(l, 2));
        NEED(P(l, 3), gx * cols * 2ull, "out");
    } else if (starts(k, "tinyrt_add_")) {
        long long n = L(l, 2);
        NEED(P(l, 0), n * (strstr(k, "f32") ? 4 : 2), "residual");
        NEED(P(l, 1), n * 2, "delta");
    } else if (!strcmp(k, "tinyrt_swiglu")) {
        int rows = I(l, 2), inner = I(l, 3);
        NEED(P(l, 0), rows * 4ull * inner, "gate_up");
        NEED(P(l, 1), rows * 2ull * inner, "out");
    } else if (!strcmp(k, "tinyrt_gather_rows")) {
        int cols = I(l, 3);
        NEED(P(l, 1), 4ull * gx, "rows");
        NEED(P(l, 2), gx * cols * 2ull, "out");
        for (unsigned r = 0; r < gx; r++) NEED(P(l, 0) + (unsigned long long)RD(P(l, 1), r) * cols * 2, cols * 2ull, "x row");
    } else if (!strcmp(k, "tinyrt_f32_to_f16") || !strcmp(k, "tinyrt_bf16_to_f16")) {
        long long n = L(l, 2);
        NEED(P(l, 0), n * (strstr(k, "f32_to") ? 4 : 2), "in");
        NEED(P(l, 1), n * 2, "out");
    } else if (!strcmp(k, "tinyrt_quant_e4m3")) {
        long long n = L(l, 3);
        CHECK(F(l, 1) > 0, "%s: activation scale %g", k, F(l, 1));
        NEED(P(l, 0), n * 2, "x");
        NEED(P(l, 2), n * 2, "out");
    } else if (!strcmp(k, "tinyrt_quant_int8_token")) {  // x pre out cols; one block per row
        int cols = I(l, 3);
        CHECK(cols > 0 && b % 32 == 0 && b <= 1024 && l->smem == 0, "%s: cols %d block %u shared %u", k, cols, b, l->smem);
        NEED(P(l, 0), (unsigned long long)gx * cols * 2, "x");
        if (P(l, 1)) NEED(P(l, 1), cols * 4ull, "pre-scale");
        NEED(P(l, 2), (unsigned long long)gx * cols * 2, "out");
    } else if (!strcmp(k, "tinyrt_argmax_f32")) {
        NEED(P(l, 0), (unsigned long long)gx * I(l, 2) * 4, "logits");
        NEED(P(l, 1), 4ull * gx, "ids");
    } else if (!strcmp(k, "tinyrt_sample_f32")) {  // logits vocab params penalized ids lp_stride lp_ids lp_vals
        int vocab = I(l, 1), stride = I(l, 5);
        CHECK(vocab > 0 && vocab <= (1 << 23) && stride >= 0 && stride <= vocab && b % 32 == 0 && l->smem == 0,
              "%s: vocab %d logprob stride %d block %u shared %u", k, vocab, stride, b, l->smem);
        NEED(P(l, 0), (unsigned long long)gx * vocab * 4, "logits");
        NEED(P(l, 2), 48ull * gx, "params");
        NEED(P(l, 4), 4ull * gx, "ids");
        if (stride > 0) {
            NEED(P(l, 6), 4ull * gx * stride, "logprob ids");
            NEED(P(l, 7), 4ull * gx * stride, "logprob values");
        }
        for (unsigned r = 0; r < gx; r++) {
            float t = F2(P(l, 2), 12ull * r), top_p = F2(P(l, 2), 12ull * r + 2), penalty = F2(P(l, 2), 12ull * r + 7);
            int top_k = RD(P(l, 2), 12ull * r + 1), at = RD(P(l, 2), 12ull * r + 8), n = RD(P(l, 2), 12ull * r + 9);
            int want = RD(P(l, 2), 12ull * r + 10);
            CHECK(t >= 0 && top_k >= 0 && top_p > 0 && top_p <= 1 && penalty > 0 && at >= 0 && n >= 0 && want >= 0
                  && want <= stride, "%s: row %u params t %g k %d p %g penalty %g ids %d+%d logprobs %d", k, r, t,
                  top_k, top_p, penalty, at, n, want);
            if (n > 0) NEED(P(l, 3) + 4ull * at, 4ull * n, "penalized ids");
        }
    } else if (!strcmp(k, "tinyrt_read_probe")) {
        NEED(P(l, 0), L(l, 1) * 16, "data");
        NEED(P(l, 2), 4096, "sink");
    } else if (!strcmp(k, "tinyrt_spin")) {
        CHECK(L(l, 0) > 0 && L(l, 0) < 100000000LL, "%s: %lld ns", k, L(l, 0));
    } else if (starts(k, "tinyrt_rope_store_kv")) {
        int stride = I(l, 1), heads = I(l, 8), kv = I(l, 9), hd = I(l, 10), bs = I(l, 11), es = kv_element_bytes(k);
        CHECK(strcmp(k, "tinyrt_rope_store_kv") == 0 || strcmp(k, "tinyrt_rope_store_kv_int8") == 0
              || strcmp(k, "tinyrt_rope_store_kv_fp8") == 0, "%s: unknown KV type", k);
        CHECK(es == 1 ? F(l, 12) > 0 && isfinite(F(l, 12)) : F(l, 12) == 1.0f, "%s: kv_scale %g", k, F(l, 12));
        CHECK(stride == (heads + 2 * kv) * hd, "%s: stride %d for %d/%d heads of %d", k, stride, heads, kv, hd);
        NEED(P(l, 0), gx * (unsigned long long)stride * 2, "qkv");
        NEED(P(l, 4), 4ull * gx, "positions");
        NEED(P(l, 5), 4ull * gx, "slots");
        for (unsigned r = 0; r < gx; r++) {
            int pos = RD(P(l, 4), r), slot = RD(P(l, 5), r);
            NEED(P(l, 2) + (unsigned long long)pos * hd / 2 * 4, hd / 2 * 4, "cos row");
            NEED(P(l, 3) + (unsigned long long)pos * hd / 2 * 4, hd / 2 * 4, "sin row");
            NEED(P(l, 6) + cache_off(slot / bs, kv - 1, slot % bs, kv, bs, hd, es), hd * es, "k cache slot");
            NEED(P(l, 7) + cache_off(slot / bs, kv - 1, slot % bs, kv, bs, hd, es), hd * es, "v cache slot");
        }
    } else if (sscanf(k, "tinyrt_gemv_gate_up_n%d", &nt) == 1) {
        int inner = I(l, 3), kk = I(l, 4);
        walked += gx < (unsigned)(inner + 7) / 8;
        CHECK(kk % 8 == 0 && gx >= 1 && gx <= (unsigned)(inner + 7) / 8 && b == 256 && l->smem == 0,
              "%s: inner %d k %d grid %u block %u", k, inner, kk, gx, b);
        NEED(P(l, 0), 2ull * inner * kk * 2, "w (gate|up)");
        NEED(P(l, 1), (unsigned long long)nt * kk * 2, "x");
        NEED(P(l, 2), (unsigned long long)nt * inner * 2, "act");
    } else if (sscanf(k, "tinyrt_gemv_n%d", &nt) == 1) {
        int m = I(l, 3), kk = I(l, 4), ks = I(l, 5), o4 = strstr(k, "_f32") != 0;
        CHECK(ks == 1 || ks == 2 || ks == 4 || ks == 8, "%s: split-K %d", k, ks);
        walked += gx < (unsigned)(m + 8 / ks - 1) / (8 / ks);
        CHECK(kk % 8 == 0 && gx <= (unsigned)(m + 8 / ks - 1) / (8 / ks) && b == 256, "%s: m %d k %d ks %d grid %u block %u", k, m, kk, ks, gx, b);
        CHECK(P(l, 0) % 16 == 0 && P(l, 1) % 16 == 0, "%s: 16-byte alignment", k);
        NEED(P(l, 0), (unsigned long long)m * kk * 2, "w");
        NEED(P(l, 1), (unsigned long long)nt * kk * 2, "x");
        NEED(P(l, 2), (unsigned long long)nt * m * (o4 ? 4 : 2), "out");
    } else if (strstr(k, "_res") || strstr(k, "_norm") ) {
        // fused batch-1 GEMVs: [quantized prefix: w scales group pre pre_split] then
        //   res: x out residual m k ks | norm: residual gamma eps normed norm_threads out m k ks | gate_up_norm: ... act inner k
        int q = starts(k, "tinyrt_qgemv_"), w4 = starts(k, "tinyrt_qgemv_w4"), base = q ? 5 : 1;
        int staged = strstr(k, "_staged_") != 0;
        int res = strstr(k, "_res") != 0, gate_up = strstr(k, "gate_up") != 0;
        int m = I(l, res ? base + 3 : base + 6), kk = I(l, res ? base + 4 : base + 7);
        int ks = gate_up ? 1 : I(l, res ? base + 5 : base + 8);
        unsigned long long rows = gate_up ? 2ull * m : (unsigned long long)m;
        CHECK(ks == 1 || ks == 2 || ks == 4 || ks == 8, "%s: split-K %d", k, ks);
        CHECK(!staged || ks == 1, "%s: split-K %d (the staged kernels take none)", k, ks);
        walked += gx < (unsigned)(m + 8 / ks - 1) / (8 / ks);
        CHECK(gx <= (unsigned)(m + 8 / ks - 1) / (8 / ks) && b == 256, "%s: m %d ks %d grid %u block %u", k, m, ks, gx, b);
        CHECK(kk % (w4 ? 32 : q ? 16 : 8) == 0, "%s: k %d", k, kk);
        CHECK(!staged || l->smem == staged_shared(q && !w4, w4, !res, kk), "%s: shared %u, k %d", k, l->smem, kk);
        NEED(P(l, 0), rows * kk * (w4 ? 1 : q ? 2 : 4) / 2, "w");
        // _pre_ kernels stage x times the pre-scale in shared memory: one copy, or for gate|up with a pre-scale per
        // half (pre_split == m) two, after the norm's own row
        int pre = strstr(k, "_pre_") != 0, copies = 0;
        if (q) {
            int group = I(l, 2), split = I(l, 4);
            CHECK(!w4 || (group % 32 == 0 && kk % group == 0), "%s: group %d", k, group);
            NEED(P(l, 1), w4 ? rows * (kk / group) * 2 : rows * 4, "scales");
            if (P(l, 3)) NEED(P(l, 3), 4ull * kk * (split < (long long)rows ? 2 : 1), "pre-scale");
            CHECK(!pre || (P(l, 3) && (split >= (long long)rows || (gate_up && split == m))),
                  "%s: pre-scale %llu, split %d of %llu rows", k, P(l, 3), split, rows);
            copies = pre ? (gate_up && split == m ? 2 : 1) : 0;
            CHECK(!staged || !P(l, 3), "%s: a pre-scale (the staged kernels take none)", k);
        }
        if (res) {
            CHECK(staged || l->smem == 2u * kk * copies, "%s: shared %u", k, l->smem);
            NEED(P(l, base), 2ull * kk, "x");
            NEED(P(l, base + 1), 2ull * m, "out");
            NEED(P(l, base + 2), 4ull * m, "residual");
        } else {
            int nt = I(l, base + 4);
            CHECK((staged || l->smem == 2u * kk * (1 + copies)) && kk % 8 == 0 && nt >= 32 && nt <= 256 && nt * 16 >= kk, "%s: shared %u, k %d, norm threads %d", k, l->smem, kk, nt);
            NEED(P(l, base), 4ull * kk, "residual");
            NEED(P(l, base + 1), 2ull * kk, "gamma");
            CHECK(F(l, base + 2) > 0 && F(l, base + 2) < 1, "%s: eps %g", k, F(l, base + 2));
            NEED(P(l, base + 3), 2ull * kk, "normed");
            NEED(P(l, base + 5), 2ull * m, gate_up ? "act" : "out");
        }
    } else if (starts(k, "tinyrt_qgemv_") || starts(k, "tinyrt_dequant_")) {
        // (w, scales, group, pre, pre_split, x, out, m, k) or (w, scales, group, pre, pre_split, out, rows, cols)
        int w4 = starts(k, "tinyrt_qgemv_w4") || starts(k, "tinyrt_dequant_w4"), deq = starts(k, "tinyrt_dequant_");
        int gate_up = strstr(k, "_gate_up_") != 0, o4 = strstr(k, "_f32") != 0;
        int m = I(l, deq ? 6 : 7), kk = I(l, deq ? 7 : 8), group = I(l, 2), split = I(l, 4);
        unsigned long long rows = gate_up ? 2ull * m : (unsigned long long)m;
        CHECK(kk % (w4 ? 32 : 16) == 0 && (!w4 || (group % 32 == 0 && group > 0 && kk % group == 0)),
              "%s: k %d group %d", k, kk, group);
        CHECK(P(l, 0) % 16 == 0, "%s: 16-byte alignment of the weight", k);
        NEED(P(l, 0), rows * kk / (w4 ? 2 : 1), "w");
        NEED(P(l, 1), w4 ? rows * (kk / group) * 2 : rows * 4, "scales");
        if (P(l, 3)) {
            CHECK(split >= 0 && (unsigned long long)split <= rows, "%s: pre_split %d of %llu rows", k, split, rows);
            NEED(P(l, 3), 4ull * kk * (split < (long long)rows ? 2 : 1), "pre-scale");
            CHECK(P(l, 3) % 16 == 0, "%s: 16-byte alignment of the pre-scale", k);
        }
        if (deq) {
            NEED(P(l, 5), rows * kk * 2, "out");
        } else {
            CHECK(sscanf(k + strlen("tinyrt_qgemv_w8_"), gate_up ? "gate_up_n%d" : "n%d", &nt) == 1 && nt >= 1 && nt <= 8,
                  "%s: token rows", k);
            int ks = gate_up ? 1 : I(l, 9);
            CHECK(ks == 1 || ks == 2 || ks == 4 || ks == 8, "%s: split-K %d", k, ks);
            walked += gx < (unsigned)(m + 8 / ks - 1) / (8 / ks);
            CHECK(gx <= (unsigned)(m + 8 / ks - 1) / (8 / ks) && b == 256 && l->smem == 0, "%s: m %d ks %d grid %u block %u", k, m, ks, gx, b);
            NEED(P(l, 5), (unsigned long long)nt * kk * 2, "x");
            NEED(P(l, 6), (unsigned long long)nt * m * (o4 ? 4 : 2), "out");
        }
    } else if (starts(k, "tinyrt_attn_decode_batch_")) {  // same arguments as the latency kernel below
        int d, g;
        CHECK(sscanf(strrchr(k, 'd'), "d%d_g%d", &d, &g) == 2, "%s: name", k);
        int heads = I(l, 9), kv = I(l, 10), split = I(l, 11);
        CHECK(heads == kv * g && gx == (unsigned)kv && b == 2u * d && l->smem == 0,
              "%s: heads %d/%d grid %ux%ux%u block %u", k, heads, kv, gx, gy, gz, b);
        CHECK(split > 0 && split % 64 == 0, "%s: split length %d is not a multiple of the 64-key tile", k, split);
        if (!check_decode(l, d)) return 0;
    } else if (starts(k, "tinyrt_attn_decode_")) {
        int d, g;
        CHECK(sscanf(strrchr(k, 'd'), "d%d_g%d", &d, &g) == 2, "%s: name", k);
        int heads = I(l, 9), kv = I(l, 10);
        int wide = starts(k, "tinyrt_attn_decode_wide_");  // one head per 512-thread block
        CHECK(b == (wide ? 512u : 128u) && gx == (unsigned)(heads / g) && (heads / kv) % g == 0 && l->smem == 0
              && g <= (wide ? 1 : 4), "%s: heads %d/%d grid %ux%ux%u block %u shared %u", k, heads, kv, gx, gy, gz, b,
              l->smem);
        if (!check_decode(l, d)) return 0;
    } else if (starts(k, "tinyrt_attn_prefill_")) {
        int d, g;
        CHECK(sscanf(strrchr(k, 'd'), "d%d_g%d", &d, &g) == 2, "%s: name", k);
        int stride = I(l, 1), width = I(l, 7), bs = I(l, 8), heads = I(l, 9), kv = I(l, 10), es = kv_element_bytes(k);
        CHECK(es == 1 ? F(l, 13) > 0 && isfinite(F(l, 13)) : F(l, 13) == 1.0f, "%s: kv_scale %g", k, F(l, 13));
        CHECK(stride == (heads + 2 * kv) * d && b == 512 && gx == (unsigned)(heads / g) && l->smem == 0,
              "%s: stride %d heads %d/%d grid %ux%u", k, stride, heads, kv, gx, gy);
        CHECK(fabsf(F(l, 11) - 1.0f / sqrtf((float)d)) < 1e-6f, "%s: scale %g", k, F(l, 11));
        NEED(P(l, 5), 12ull * gy, "tiles");
        for (unsigned t = 0; t < gy; t++) {
            int seq = RD(P(l, 5), 3 * t), first = RD(P(l, 5), 3 * t + 1), count = RD(P(l, 5), 3 * t + 2);
            CHECK(count >= 1 && count <= 32 / g && first >= 0, "%s: tile %u = (%d, %d, %d)", k, t, seq, first, count);
            NEED(P(l, 0) + (unsigned long long)first * stride * 2, (unsigned long long)count * stride * 2, "qkv rows");
            NEED(P(l, 12) + 2ull * first * heads * d, 2ull * count * heads * d, "out rows");
            NEED(P(l, 4) + 4ull * first, 4ull * count, "positions");
            for (int r = 1; r < count; r++)
                CHECK(RD(P(l, 4), first + r) == RD(P(l, 4), first + r - 1) + 1, "%s: positions not consecutive", k);
            int last = RD(P(l, 4), first + count - 1);
            CHECK(last < width * bs, "%s: position %d beyond the table", k, last);
            NEED(P(l, 6) + 4ull * seq * width, 4ull * width, "block table row");
            for (int j = 0; j <= last; j += bs) {
                int blk = RD(P(l, 6), (long long)seq * width + j / bs);
                NEED(P(l, 2) + cache_off(blk, kv - 1, bs - 1, kv, bs, d, es), d * es, "k block");
                NEED(P(l, 3) + cache_off(blk, kv - 1, bs - 1, kv, bs, d, es), d * es, "v block");
            }
        }
    } else if (!strcmp(k, "cublas_gemm")) {  // recorded by fake_gemm: m n k a lda b ldb c ldc fp32out
        int m = I(l, 0), n = I(l, 1), kk = I(l, 2), lda = I(l, 4), ldb = I(l, 6), ldc = I(l, 8), c4 = I(l, 9);
        CHECK(lda >= kk && ldb >= kk && ldc >= m, "gemm: leading dimensions");
        NEED(P(l, 3), 2ull * lda * m, "gemm A (weights)");
        NEED(P(l, 5), 2ull * ldb * n, "gemm B (activations)");
        NEED(P(l, 7), (c4 ? 4ull : 2ull) * ldc * n, "gemm C (output)");
    } else {
        fail("%s: no checker for this kernel", k);
        return 0;
    }
    return 1;
}

// Linked in only for the emulating build (emu_kernels.cpp): runs the real kernel sources on the CPU.
extern int emu_run(const char *name, const unsigned *grid, unsigned block, unsigned shared, void **params)
    __attribute__((weak));

static void run_gemm(const Launch *l) {
    if (!emu_run) return;  // only the emulating build computes (the structural one only checks arguments)
    int m = I(l, 0), n = I(l, 1), kk = I(l, 2), lda = I(l, 4), ldb = I(l, 6), ldc = I(l, 8), c4 = I(l, 9);
    const _Float16 *A = (const _Float16 *)(uintptr_t)P(l, 3), *B = (const _Float16 *)(uintptr_t)P(l, 5);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0;
            for (int p = 0; p < kk; p++) acc += (float)A[p + (size_t)i * lda] * (float)B[p + (size_t)j * ldb];
            if (c4) ((float *)(uintptr_t)P(l, 7))[i + (size_t)j * ldc] = acc;
            else ((_Float16 *)(uintptr_t)P(l, 7))[i + (size_t)j * ldc] = (_Float16)acc;
        }
}

// With the emulator every kernel and GEMM runs; without it only argmax does (its ids are the next step's tokens).
static void run_launch(const Launch *l) {
    if (!strcmp(l->fn, "cublas_gemm")) {
        run_gemm(l);
        return;
    }
    if (emu_run) {
        void *params[MAX_PARAMS];
        for (int i = 0; i < l->nparams; i++) params[i] = (void *)l->params[i];
        if (emu_run(l->fn, l->g, l->b, l->smem, params)) return;
        fail("%s: the emulator does not know this kernel", l->fn);
    }
    if (!strcmp(l->fn, "tinyrt_sample_f32")) {  // without the emulator: the argmax, so ids stay in the vocabulary
        int vocab = timing_only() ? 1 : I(l, 1);
        for (unsigned r = 0; r < l->g[0]; r++) {
            const float *row = (const float *)(uintptr_t)P(l, 0) + (size_t)r * vocab;
            int best = 0;
            for (int i = 1; i < vocab; i++) if (row[i] > row[best]) best = i;
            ((int *)(uintptr_t)P(l, 4))[r] = best;
        }
    }
    if (!strcmp(l->fn, "tinyrt_argmax_f32")) {
        int vocab = I(l, 2);
        for (unsigned r = 0; r < l->g[0]; r++) {
            const float *row = (const float *)(uintptr_t)P(l, 0) + (size_t)r * vocab;
            int best = 0;
            for (int i = 1; i < vocab; i++) if (row[i] > row[best]) best = i;
            ((int *)(uintptr_t)P(l, 1))[r] = best;
        }
    }
}

CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void *stream, void **params, void **extra) {
    Launch l = {.fn = f, .g = {gx, gy, gz}, .b = bx * by * bz, .smem = smem};
    if (by != 1 || bz != 1) { fail("%s: 2-D blocks", (char *)f); return ERR_INVALID_VALUE; }
    // the driver knows each kernel's parameter count; tinyrt NULL-terminates its array, which lets us count them
    for (l.nparams = 0; l.nparams < MAX_PARAMS && params[l.nparams]; l.nparams++) memcpy(l.params[l.nparams], params[l.nparams], 8);
    return enqueue(&l, stream);  // arguments are checked when captured and again at every replay
}

// The fake cuBLAS enqueues its GEMMs here, so they are recorded into graphs like kernels.
static CUresult enqueue(Launch *l, void *stream) {
    Stream *st = stream;
    launches++;
    if (st->capturing) {
        if (st->rec.n == st->rec.cap) { st->rec.cap = st->rec.cap ? 2 * st->rec.cap : 64; st->rec.l = realloc(st->rec.l, st->rec.cap * sizeof(Launch)); }
        st->rec.l[st->rec.n++] = *l;
        captured_launches++;
        return check_launch(l) ? OK : ERR_INVALID_VALUE;
    }
    if (!check_launch(l)) return ERR_INVALID_VALUE;
    run_launch(l);
    return OK;
}

int fake_gemm(void *stream, int m, int n, int kk, CUdeviceptr a, int lda, CUdeviceptr b, int ldb, CUdeviceptr c,
              int ldc, int fp32_out) {
    Launch l = {.fn = "cublas_gemm", .g = {1, 1, 1}, .b = 1, .smem = 0, .nparams = 10};
    long long v[10] = {m, n, kk, (long long)a, lda, (long long)b, ldb, (long long)c, ldc, fp32_out};
    for (int i = 0; i < 10; i++) memcpy(l.params[i], &v[i], 8);
    return enqueue(&l, stream);
}

// cuLaunchKernelEx: tinyrt passes one attribute, programmatic stream serialization (id 6, value 1).
typedef struct {
    unsigned gx, gy, gz, bx, by, bz, smem;
    void *stream;
    unsigned char *attrs;
    unsigned num_attrs;
} LaunchConfig;
static long long pdl_launches;

CUresult cuLaunchKernelEx(const LaunchConfig *config, void *f, void **params, void **extra) {
    if (config->num_attrs != 1 || *(const int *)config->attrs != 6 || *(const int *)(config->attrs + 8) != 1) {
        fail("%s: cuLaunchKernelEx attributes (%u, id %d, value %d)", (char *)f, config->num_attrs,
             config->num_attrs ? *(const int *)config->attrs : -1, config->num_attrs ? *(const int *)(config->attrs + 8) : -1);
        return ERR_INVALID_VALUE;
    }
    pdl_launches++;
    return cuLaunchKernel(f, config->gx, config->gy, config->gz, config->bx, config->by, config->bz, config->smem,
                          config->stream, params, extra);
}

// ---- for tests -----------------------------------------------------------------------------------------------
int fake_report(char *buf, int len) {
    return snprintf(buf, len,
                    "device_allocations=%d device_bytes=%lld host_allocations=%lld events=%lld streams=%lld graphs=%lld"
                    " graph_execs=%lld launches=%lld captured_launches=%lld replays=%lld memcpys=%lld"
                    " invalid=%lld unknown_functions=%lld kernels_used=%d pdl_launches=%lld walked_gemv_launches=%lld",
                    ndev, dev_bytes, host_live, events_live, streams_live, graphs_live, execs_live, launches,
                    captured_launches, replays, memcpys, invalid, unknown_fn, nnames, pdl_launches, walked);
}
int fake_inside(unsigned long long p, unsigned long long bytes) { return inside(p, bytes); }
