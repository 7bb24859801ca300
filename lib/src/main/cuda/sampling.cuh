// Token sampling on the GPU, one block per logits row, so only token ids (and optional log-probabilities) reach the
// host. Each row has its own parameters and its own random stream, and follows the CPU sampler
// (dev.tinyrt.runtime.Sampler) step for step:
//   repetition penalty -> temperature (0: greedy argmax) -> top-k -> top-p -> draw.
// Tokens are ordered by a 64-bit key: the logit's bits made orderable, then the inverted token id, so keys are
// unique and sort exactly like the CPU's stable sort (larger logit first, lower id first among equal logits).
// top-k and top-p become one threshold key each, found by 8-bit radix selection (no sort): keep key >= cut.
// Weights exp(x/t - max/t) are summed as 40-bit fixed-point integers, so every sum is exact and independent of the
// thread order: a row's token depends only on its logits, its parameters, its seed and its step — not on the block
// size, the batch it shares, or the GPU's scheduling. The draw uses Philox-4x32-10 keyed by the seed with the step
// as counter (counter-based: no state to carry between steps).
#pragma once
#include "common.cuh"

namespace sampling {

// Per-row parameters, ROW_WORDS 32-bit words each (dev.tinyrt.backend.cuda.DeviceSampler writes them).
constexpr int ROW_WORDS = 12;
constexpr int P_TEMPERATURE = 0;  // float; 0 = greedy
constexpr int P_TOP_K = 1;        // 0 = all tokens
constexpr int P_TOP_P = 2;        // float in (0, 1]
constexpr int P_SEED_LO = 3, P_SEED_HI = 4;
constexpr int P_STEP_LO = 5, P_STEP_HI = 6;  // tokens this sequence has sampled before: the Philox counter
constexpr int P_PENALTY = 7;      // float repetition penalty; 1 = none
constexpr int P_PENALIZED_AT = 8, P_PENALIZED_COUNT = 9;  // distinct ids of the sequence so far, in `penalized`
constexpr int P_LOGPROBS = 10;    // top log-probabilities wanted (<= the launch's lp_stride)

constexpr double FIXED_ONE = 1099511627776.0;  // 2^40: weights in (0, 1] as integers; sums fit up to 2^23 tokens

DEV unsigned long long order_key(float x, int i) {
    unsigned u = __float_as_uint(x);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return (static_cast<unsigned long long>(u) << 32) | (0xffffffffu - static_cast<unsigned>(i));
}

DEV int key_index(unsigned long long key) { return static_cast<int>(0xffffffffu - static_cast<unsigned>(key)); }

DEV float key_value(unsigned long long key) {
    unsigned u = static_cast<unsigned>(key >> 32);
    u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
    return __uint_as_float(u);
}

// exp(x/t - max/t) as the CPU computes it, in fixed point; anything not positive and finite (NaN) weighs 0.
DEV unsigned long long weight(float x, float t, float max_over_t) {
    float w = expf(x / t - max_over_t);
    return w > 0.f && w <= 1.f ? static_cast<unsigned long long>(static_cast<double>(w) * FIXED_ONE) : 0ull;
}

DEV unsigned long long warp_max_u64(unsigned long long v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
        unsigned long long o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = o > v ? o : v;
    }
    return v;
}

DEV unsigned long long warp_sum_u64(unsigned long long v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Block-wide max / sum; every thread gets the result. `scratch` holds 32 values.
DEV unsigned long long block_max_u64(unsigned long long v, unsigned long long* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max_u64(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    unsigned long long best = 0;
    for (int w = 0; w < warps; w++) best = scratch[w] > best ? scratch[w] : best;
    return best;
}

DEV unsigned long long block_sum_u64(unsigned long long v, unsigned long long* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum_u64(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    unsigned long long total = 0;
    for (int w = 0; w < warps; w++) total += scratch[w];
    return total;
}

// The largest key among the row's keys below `below` (0 when there is none).
DEV unsigned long long max_key_below(const float* row, int vocab, unsigned long long below, unsigned long long* scratch) {
    unsigned long long best = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        unsigned long long k = order_key(row[i], i);
        if (k < below && k > best) best = k;
    }
    return block_max_u64(best, scratch);
}

// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; Random123's constants).
DEV void philox4x32_10(unsigned ctr[4], unsigned key0, unsigned key1) {
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            key0 += 0x9E3779B9u;
            key1 += 0xBB67AE85u;
        }
        unsigned long long p0 = 0xD2511F53ull * ctr[0];
        unsigned long long p1 = 0xCD9E8D57ull * ctr[2];
        unsigned next[4] = {static_cast<unsigned>(p1 >> 32) ^ ctr[1] ^ key0, static_cast<unsigned>(p1),
                            static_cast<unsigned>(p0 >> 32) ^ ctr[3] ^ key1, static_cast<unsigned>(p0)};
        ctr[0] = next[0]; ctr[1] = next[1]; ctr[2] = next[2]; ctr[3] = next[3];
    }
}

// A uniform double in [0, 1) with 53 random bits: block 0 of the stream (seed) at counter (step, 0, 0, 0).
DEV double uniform(unsigned seed_lo, unsigned seed_hi, unsigned step_lo, unsigned step_hi) {
    unsigned c[4] = {step_lo, step_hi, 0u, 0u};
    philox4x32_10(c, seed_lo, seed_hi);
    return (static_cast<double>(c[0] >> 5) * 67108864.0 + static_cast<double>(c[1] >> 6)) * (1.0 / 9007199254740992.0);
}

// The k-th largest key of the row (k >= 1): 8 passes, each fixing the next 8 bits from a count histogram.
DEV unsigned long long kth_largest_key(const float* row, int vocab, unsigned k, unsigned* count,
                                       unsigned long long* bcast) {
    unsigned long long prefix = 0, mask = 0;
    unsigned remaining = k;
    for (int shift = 56; shift >= 0; shift -= 8) {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) count[d] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            unsigned long long key = order_key(row[i], i);
            if ((key & mask) == prefix) atomicAdd(&count[(key >> shift) & 255], 1u);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            int d = 255;
            for (; d > 0 && count[d] < remaining; d--) remaining -= count[d];
            bcast[0] = prefix | (static_cast<unsigned long long>(d) << shift);
            bcast[1] = remaining;
        }
        __syncthreads();
        prefix = bcast[0];
        remaining = static_cast<unsigned>(bcast[1]);
        mask |= 0xffull << shift;
    }
    return prefix;
}

// The top-p cut: the largest kept key (key >= floor) whose prefix of kept keys, largest first, weighs at least
// `needed`. 8 passes, each picking the bucket of the next 8 bits where the running weight first reaches `needed`.
DEV unsigned long long nucleus_key(const float* row, int vocab, unsigned long long floor, double needed, float t,
                                   float max_over_t, unsigned long long* mass, unsigned* count,
                                   unsigned long long* bcast, double* still_needed) {
    unsigned long long prefix = 0, mask = 0;
    for (int shift = 56; shift >= 0; shift -= 8) {
        for (int d = threadIdx.x; d < 256; d += blockDim.x) {
            count[d] = 0;
            mass[d] = 0;
        }
        __syncthreads();
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float x = row[i];
            unsigned long long key = order_key(x, i);
            if (key >= floor && (key & mask) == prefix) {
                int d = static_cast<int>((key >> shift) & 255);
                atomicAdd(&count[d], 1u);
                atomicAdd(&mass[d], weight(x, t, max_over_t));
            }
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned long long above = 0;
            int chosen = -1, lowest = 0;
            for (int d = 255; d >= 0; d--) {
                if (count[d] == 0) continue;
                lowest = d;
                if (static_cast<double>(above + mass[d]) >= needed) {
                    chosen = d;
                    break;
                }
                above += mass[d];
            }
            // rounding left the target out of reach: keep everything that is left (the smallest key)
            bcast[0] = prefix | (static_cast<unsigned long long>(chosen >= 0 ? chosen : lowest) << shift);
            *still_needed = chosen >= 0 ? needed - static_cast<double>(above) : INFINITY;
        }
        __syncthreads();
        prefix = bcast[0];
        needed = *still_needed;
        mask |= 0xffull << shift;
    }
    return prefix;
}

}  // namespace sampling

// Picks one token per row of `logits [rows, vocab]` (fp32) with the row's parameters (params: ROW_WORDS ints per
// row, see above) into ids[row]. When the row asks for log-probabilities, first writes its P_LOGPROBS most likely
// tokens by raw logit with log_softmax(raw logits) into lp_ids / lp_vals [rows, lp_stride] (the rest of the row
// -1 / 0). The repetition penalty is applied to the logits in place. grid: rows, block: any multiple of 32 up to
// 1024.
extern "C" __global__ void tinyrt_sample_f32(float* __restrict__ logits, int vocab, const int* __restrict__ params,
                                             const int* __restrict__ penalized, int* __restrict__ ids, int lp_stride,
                                             int* __restrict__ lp_ids, float* __restrict__ lp_vals) { PDL_PROLOGUE;
    using namespace sampling;
    __shared__ unsigned long long scratch[32];
    __shared__ unsigned long long bcast[4];
    __shared__ unsigned long long mass[256];
    __shared__ unsigned count[256];
    __shared__ float fscratch[32];
    __shared__ double still_needed;
    const int row_index = blockIdx.x;
    float* row = logits + static_cast<size_t>(row_index) * vocab;
    const int* p = params + static_cast<size_t>(row_index) * ROW_WORDS;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;

    // 1. log-probabilities of the raw logits
    int want = p[P_LOGPROBS] < lp_stride ? p[P_LOGPROBS] : lp_stride;
    if (want > 0) {
        unsigned long long top = max_key_below(row, vocab, ~0ull, scratch);
        float max = key_value(top);
        float sum = 0.f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) sum += expf(row[i] - max);
        float log_z = max + logf(block_sum(sum, fscratch));
        for (int j = 0; j < lp_stride; j++) {
            if (j > 0 && j < want) top = max_key_below(row, vocab, top, scratch);
            if (threadIdx.x == 0) {
                bool found = j < want && j < vocab;
                lp_ids[static_cast<size_t>(row_index) * lp_stride + j] = found ? key_index(top) : -1;
                lp_vals[static_cast<size_t>(row_index) * lp_stride + j] = found ? key_value(top) - log_z : 0.f;
            }
        }
    } else if (threadIdx.x == 0) {
        for (int j = 0; j < lp_stride; j++) {
            lp_ids[static_cast<size_t>(row_index) * lp_stride + j] = -1;
            lp_vals[static_cast<size_t>(row_index) * lp_stride + j] = 0.f;
        }
    }

    // 2. repetition penalty (HF's: positive logits divided, negative multiplied), once per distinct id
    float penalty = __int_as_float(p[P_PENALTY]);
    if (penalty != 1.f) {
        const int* seen = penalized + p[P_PENALIZED_AT];
        for (int j = threadIdx.x; j < p[P_PENALIZED_COUNT]; j += blockDim.x) {
            int id = seen[j];
            if (id >= 0 && id < vocab) {
                float x = row[id];
                row[id] = x > 0.f ? x / penalty : x * penalty;
            }
        }
    }
    __syncthreads();

    // 3. greedy: the first index of the maximum, as torch.argmax
    unsigned long long top = max_key_below(row, vocab, ~0ull, scratch);
    float t = __int_as_float(p[P_TEMPERATURE]);
    if (t == 0.f) {
        if (threadIdx.x == 0) ids[row_index] = key_index(top);
        return;
    }
    float max_over_t = key_value(top) / t;

    // 4. top-k: keep the k largest keys
    int top_k = p[P_TOP_K];
    unsigned long long cut = 0;
    if (top_k > 0 && top_k < vocab) cut = kth_largest_key(row, vocab, static_cast<unsigned>(top_k), count, bcast);

    // 5. top-p: the smallest prefix of the kept tokens whose probability reaches top_p
    float top_p = __int_as_float(p[P_TOP_P]);
    if (top_p < 1.f) {
        unsigned long long kept = 0;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            float x = row[i];
            if (order_key(x, i) >= cut) kept += weight(x, t, max_over_t);
        }
        kept = block_sum_u64(kept, scratch);
        cut = nucleus_key(row, vocab, cut, static_cast<double>(top_p) * static_cast<double>(kept), t, max_over_t,
                          mass, count, bcast, &still_needed);
    }

    // 6. draw r in [0, total) and find the token where the running weight in id order passes r
    int segment = ((vocab + warps - 1) / warps + 31) / 32 * 32;
    int lo = warp * segment, hi = lo + segment < vocab ? lo + segment : vocab;
    unsigned long long local = 0;
    for (int i = lo + lane; i < hi; i += 32) {
        float x = row[i];
        if (order_key(x, i) >= cut) local += weight(x, t, max_over_t);
    }
    local = warp_sum_u64(local);
    __syncthreads();
    if (lane == 0) scratch[warp] = local;
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned long long total = 0;
        for (int w = 0; w < warps; w++) total += scratch[w];
        int target = -1;
        unsigned long long base = 0;
        if (total > 0) {
            double u = uniform(static_cast<unsigned>(p[P_SEED_LO]), static_cast<unsigned>(p[P_SEED_HI]),
                               static_cast<unsigned>(p[P_STEP_LO]), static_cast<unsigned>(p[P_STEP_HI]));
            unsigned long long r = static_cast<unsigned long long>(u * static_cast<double>(total));
            if (r >= total) r = total - 1;
            for (int w = 0; w < warps; w++) {
                if (r < base + scratch[w]) {
                    target = w;
                    break;
                }
                base += scratch[w];
            }
            bcast[1] = r;
        } else {
            ids[row_index] = key_index(top);  // no weight anywhere (infinite logits): the argmax
        }
        bcast[0] = static_cast<unsigned long long>(target + 1);
        bcast[2] = base;
    }
    __syncthreads();
    if (static_cast<int>(bcast[0]) - 1 != warp) return;
    unsigned long long r = bcast[1], base = bcast[2];
    for (int at = lo; at < hi; at += 32) {
        int i = at + lane;
        unsigned long long w = 0;
        if (i < hi) {
            float x = row[i];
            if (order_key(x, i) >= cut) w = weight(x, t, max_over_t);
        }
        unsigned long long inclusive = w;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            unsigned long long n = __shfl_up_sync(0xffffffffu, inclusive, o);
            if (lane >= o) inclusive += n;
        }
        unsigned long long tile = __shfl_sync(0xffffffffu, inclusive, 31);
        if (r < base + tile) {
            if (w > 0 && r < base + inclusive && r >= base + inclusive - w) ids[row_index] = i;
            return;
        }
        base += tile;
    }
}
