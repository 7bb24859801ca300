package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.KvCacheDtype;

import java.util.ArrayList;
import java.util.List;

/**
 * The names of every kernel in {@code kernels.fatbin} (all {@code extern "C"} in lib/src/main/cuda), and the rules
 * that pick a specialization. A test checks this list against the symbols of the built fatbin, both ways.
 */
final class KernelNames {
    /** GEMV kernels exist for 1..MAX_GEMV_ROWS token rows. */
    static final int MAX_GEMV_ROWS = 8;
    /** Head dimensions the attention kernels are specialized for. */
    static final int[] HEAD_DIMS = {16, 32, 64, 128};
    /** Query heads per prefill attention block (sharing one KV head). */
    static final int[] HEAD_GROUPS = {1, 2, 4, 8};
    /** Query heads per decode attention block: at most 4, so its running sums stay in registers. */
    static final int[] DECODE_HEAD_GROUPS = {1, 2, 4};
    /** Head dimensions and GQA groups (whole groups per block) of the batched decode attention (attention_batch.cuh). */
    static final int[] BATCH_DECODE_HEAD_DIMS = {64, 128};
    static final int[] BATCH_DECODE_GROUPS = {1, 2, 4, 6, 8};

    static final String EMBED_F16 = "tinyrt_embed_f16";
    static final String EMBED_F32 = "tinyrt_embed_f32";
    static final String ADD_F16 = "tinyrt_add_f16";
    static final String ADD_F32 = "tinyrt_add_f32";
    static final String SWIGLU = "tinyrt_swiglu";
    static final String GATHER_ROWS = "tinyrt_gather_rows";
    static final String F32_TO_F16 = "tinyrt_f32_to_f16";
    static final String BF16_TO_F16 = "tinyrt_bf16_to_f16";
    static final String ARGMAX_F32 = "tinyrt_argmax_f32";
    static final String READ_PROBE = "tinyrt_read_probe";
    static final String SPIN = "tinyrt_spin";
    static final String RMS_NORM_F16 = "tinyrt_rms_norm_f16";
    static final String RMS_NORM_F32 = "tinyrt_rms_norm_f32";
    static final String ADD_RMS_NORM_F16 = "tinyrt_add_rms_norm_f16";
    static final String ADD_RMS_NORM_F32 = "tinyrt_add_rms_norm_f32";
    static final String RMS_NORM_V8_F16 = "tinyrt_rms_norm_v8_f16";
    static final String RMS_NORM_V8_F32 = "tinyrt_rms_norm_v8_f32";
    static final String ADD_RMS_NORM_V8_F16 = "tinyrt_add_rms_norm_v8_f16";
    static final String ADD_RMS_NORM_V8_F32 = "tinyrt_add_rms_norm_v8_f32";
    /** The v8 norm kernels keep two 8-element chunks per thread: rows of up to 16 * 1024 values, multiples of 8. */
    static final int NORM_V8_MAX_COLS = 16 * 1024;
    static final String ROPE_STORE_KV = "tinyrt_rope_store_kv";
    static final String SAMPLE_F32 = "tinyrt_sample_f32";

    private KernelNames() {
    }

    static String gemv(int rows, boolean fp32Out) {
        check(rows >= 1 && rows <= MAX_GEMV_ROWS, "GEMV rows " + rows);
        return "tinyrt_gemv_n" + rows + (fp32Out ? "_f32" : "_f16");
    }

    /**
     * Warps sharing one weight row in the decode GEMVs (split-K, gemv.cuh): the most (up to 8) that still leave
     * each lane at least {@link #MIN_CHUNKS_PER_LANE} 16-byte chunks of the row, so rows up to 511 chunks get one
     * warp and long rows, such as the fp16 down projection's, keep enough loads in flight without walking their
     * row groups in more rounds than needed. {@code forced} (1, 2, 4 or 8; 0 for the rule) overrides it:
     * {@code -Dtinyrt.cuda.gemvSplitK=N}, self-test.
     */
    static int splitK(long rowBytes, int forced) {
        if (forced > 0) {
            check(forced <= 8 && Integer.bitCount(forced) == 1, "split-K " + forced);
            return forced;
        }
        long chunks = rowBytes / 16;
        int ks = 1;
        while (ks < 8 && chunks / (32L * ks * 2) >= MIN_CHUNKS_PER_LANE) {
            ks *= 2;
        }
        return ks;
    }

    /**
     * 8 since the H100 runs of 2026-11-28 (GPU µs per decode step, same run per row): the int8 down projection
     * (352 chunks) at split-K 1 / 2 / 4 took 766 / 807 / 908 (28c6a7d), the fp16 one (704 chunks) at 1 / 2 / 4 / 8
     * 1,074 / 1,014 / 1,042 / 1,071 (9a70660). The rule before (at least 4 per lane, and one warp up to 256 chunks)
     * chose 2 and 4.
     */
    static final int MIN_CHUNKS_PER_LANE = 8;

    /** Rows one 256-thread GEMV block covers with {@code ks} warps per row. */
    static int gemvRowsPerBlock(int ks) {
        return 8 / ks;
    }

    /** The gate|up GEMV with SwiGLU in its epilogue. */
    static String gemvGateUp(int rows) {
        check(rows >= 1 && rows <= MAX_GEMV_ROWS, "GEMV rows " + rows);
        return "tinyrt_gemv_gate_up_n" + rows;
    }

    /** KV-cache element types with kernels: fp16, int8, fp8 e4m3. */
    static final KvCacheDtype[] KV_DTYPES = {KvCacheDtype.FP16, KvCacheDtype.INT8, KvCacheDtype.FP8};

    /** Weight-only quantized GEMV ({@code format} "w8" or "w4", see qgemv.cuh). */
    static String qgemv(String format, int rows, boolean fp32Out) {
        check(rows >= 1 && rows <= MAX_GEMV_ROWS, "GEMV rows " + rows);
        return "tinyrt_qgemv_" + format + "_n" + rows + (fp32Out ? "_f32" : "_f16");
    }

    /** Quantized gate|up GEMV with SwiGLU in its epilogue. */
    static String qgemvGateUp(String format, int rows) {
        check(rows >= 1 && rows <= MAX_GEMV_ROWS, "GEMV rows " + rows);
        return "tinyrt_qgemv_" + format + "_gate_up_n" + rows;
    }

    /** Dequantizes a weight to fp16 for the prefill GEMM. */
    static String dequant(String format) {
        return "tinyrt_dequant_" + format;
    }

    static final List<String> QUANT_FORMATS = List.of("w8", "w4", "f8");
    static final String QUANT_E4M3 = "tinyrt_quant_e4m3";
    static final String QUANT_INT8_TOKEN = "tinyrt_quant_int8_token";

    /**
     * Batch-1 GEMVs with the block boundary fused in (gemv.cuh's end): {@code res} adds the product into the fp32
     * residual, {@code norm} computes the RMSNorm of the residual in its prologue. {@code format} null for fp16.
     */
    static String gemvResidual(String format) {
        return format == null ? "tinyrt_gemv_res_f16" : "tinyrt_qgemv_" + format + "_res";
    }

    static String gemvNorm(String format) {
        return format == null ? "tinyrt_gemv_norm_f16" : "tinyrt_qgemv_" + format + "_norm";
    }

    static String gemvGateUpNorm(String format) {
        return format == null ? "tinyrt_gemv_gate_up_norm" : "tinyrt_qgemv_" + format + "_gate_up_norm";
    }

    /**
     * The staged fused batch-1 GEMVs (staged.cuh): the same arguments as {@link #gemvResidual}, {@link #gemvNorm} and
     * {@link #gemvGateUpNorm} (kind "res", "norm" or "gate_up_norm"), the weight rows streamed through shared memory.
     * {@code format} null for fp16, "w8" or "w4".
     */
    static String gemvStaged(String format, String kind) {
        check(List.of("res", "norm", "gate_up_norm").contains(kind), "staged GEMV kind " + kind);
        if (format == null) {
            return "tinyrt_gemv_staged_" + kind + ("gate_up_norm".equals(kind) ? "" : "_f16");
        }
        check("w8".equals(format) || "w4".equals(format), "staged GEMV format " + format);
        return "tinyrt_qgemv_" + format + "_staged_" + kind;
    }

    /** The most dynamic shared memory a block may ask for on the GPUs tinyrt builds for (sm_80 and sm_90: 227 KB). */
    static final int MAX_BLOCK_SHARED = 227 * 1024;

    /**
     * Dynamic shared memory of a staged GEMV (staged.cuh's Staged&lt;...&gt;: U chunks per pass, D passes in the ring,
     * scale words per pass): the norm's x (2 * cols bytes) when {@code norm}, then the weight ring of D * U 16-byte
     * chunks per thread and its scale words.
     */
    static int stagedShared(String format, int cols, boolean norm) {
        int[] udw = format == null ? new int[]{8, 3, 0} : switch (format) {
            case "w8" -> new int[]{4, 6, 1};
            case "w4" -> new int[]{2, 10, 2};
            default -> throw new IllegalArgumentException("staged GEMV format " + format);
        };
        int threads = 256;
        return (norm ? 2 * cols : 0) + 16 * udw[1] * udw[0] * threads + 4 * udw[1] * udw[2] * threads;
    }

    /** Head dimensions the decode-layer kernels (layer.cuh) are built for. */
    static final int LAYER_HEAD_DIM = 64;

    /**
     * The decode-layer kernel (layer.cuh) for weights of {@code format} (null: fp16, "w8", "w4"): one launch for a
     * batch-1 decoder layer, two blocks per multiprocessor.
     */
    static String layer(String format) {
        return "tinyrt_layer_" + (format == null ? "f16" : format) + "_d" + LAYER_HEAD_DIM;
    }

    /**
     * The fused batch-1 kernels for a quantized weight with a pre-scale (AWQ): x times the pre-scale is staged in
     * shared memory once per block, so the product takes the fp16-pair path (qgemv.cuh, QGEMV_PRE). {@code kind} is
     * "res", "norm" or "gate_up_norm".
     */
    static String gemvPreScaled(String format, String kind) {
        check(format != null && !"f8".equals(format), "pre-scaled GEMV format " + format);
        return "tinyrt_qgemv_" + format + "_pre_" + kind;
    }

    /**
     * Dynamic shared memory of a pre-scaled fused kernel: {@code copies} scaled rows of x, after the norm's own row
     * when {@code norm}; 0 when that exceeds the default 48 KB (the kernel without staging runs instead).
     */
    static int preScaledShared(int cols, int copies, boolean norm) {
        long bytes = 2L * cols * (copies + (norm ? 1 : 0));
        return bytes <= 48 * 1024 ? (int) bytes : 0;
    }

    /** Whether a norm over rows of {@code cols} can be fused into a GEMV block's prologue (v8 norm, smem x). */
    static boolean normFusable(int cols) {
        return normV8(cols) && normThreads(cols) <= 256 && 2L * cols <= 48 * 1024;
    }

    static String attentionDecode(int headDim, int group) {
        return attentionDecode(KvCacheDtype.FP16, headDim, group);
    }

    /**
     * fp16: tinyrt_attn_decode_batch_d64_g8; int8/fp8: tinyrt_attn_decode_batch_int8_d64_g8, ..._fp8_d64_g8. With
     * -Dtinyrt.cuda.batchAttentionOccupancy=6|8 the fp16 d64 g8 shape takes its variant of that many resident blocks
     * per SM (tinyrt_attn_decode_batch_occ8_d64_g8: same arithmetic, fewer registers).
     */
    static String attentionDecodeBatch(KvCacheDtype kv, int headDim, int group) {
        if (BATCH_ATTENTION_OCCUPANCY != 0 && kv == KvCacheDtype.FP16 && headDim == 64 && group == 8) {
            return batchOccupancyVariant(BATCH_ATTENTION_OCCUPANCY);
        }
        return defaultAttentionDecodeBatch(kv, headDim, group);
    }

    private static String defaultAttentionDecodeBatch(KvCacheDtype kv, int headDim, int group) {
        return "tinyrt_attn_decode_batch_" + kvInfix(kv) + "d" + headDim + "_g" + group;
    }

    /** Resident blocks per SM of the batched decode attention's tuning variants (0: the default kernels). */
    static final int[] BATCH_OCCUPANCY_VARIANTS = {6, 8};
    private static final int BATCH_ATTENTION_OCCUPANCY = batchAttentionOccupancy();

    private static int batchAttentionOccupancy() {
        int n = Integer.getInteger("tinyrt.cuda.batchAttentionOccupancy", 0);
        if (n != 0 && !contains(BATCH_OCCUPANCY_VARIANTS, n)) {
            throw new IllegalArgumentException("-Dtinyrt.cuda.batchAttentionOccupancy=" + n + ": the kernels have "
                    + "variants for " + java.util.Arrays.toString(BATCH_OCCUPANCY_VARIANTS) + " (or 0, the default)");
        }
        return n;
    }

    static String batchOccupancyVariant(int blocksPerSm) {
        return "tinyrt_attn_decode_batch_occ" + blocksPerSm + "_d64_g8";
    }

    /** Whether the batched decode attention has a kernel for this head dimension and GQA group. */
    static boolean hasBatchDecode(int headDim, int group) {
        return contains(BATCH_DECODE_HEAD_DIMS, headDim) && contains(BATCH_DECODE_GROUPS, group);
    }

    private static boolean contains(int[] values, int value) {
        for (int v : values) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }

    static String attentionPrefill(int headDim, int group) {
        return attentionPrefill(KvCacheDtype.FP16, headDim, group);
    }

    /** fp16: tinyrt_attn_decode_d64_g4; int8/fp8: tinyrt_attn_decode_int8_d64_g4, tinyrt_attn_decode_fp8_d64_g4. */
    static String attentionDecode(KvCacheDtype kv, int headDim, int group) {
        return "tinyrt_attn_decode_" + kvInfix(kv) + "d" + headDim + "_g" + group;
    }

    /** The latency decode kernel's wide variant: one head per 512-thread block (tinyrt_attn_decode_wide_d64_g1). */
    static String attentionDecodeWide(KvCacheDtype kv, int headDim) {
        return "tinyrt_attn_decode_wide_" + kvInfix(kv) + "d" + headDim + "_g1";
    }

    static String attentionPrefill(KvCacheDtype kv, int headDim, int group) {
        return "tinyrt_attn_prefill_" + kvInfix(kv) + "d" + headDim + "_g" + group;
    }

    static String ropeStoreKv(KvCacheDtype kv) {
        return kv == KvCacheDtype.FP16 ? ROPE_STORE_KV : ROPE_STORE_KV + "_" + kv.label();
    }

    private static String kvInfix(KvCacheDtype kv) {
        return switch (kv) {
            case FP16 -> "";
            case INT8, FP8 -> kv.label() + "_";
            default -> throw new IllegalArgumentException("no CUDA kernels for a " + kv.label() + " KV cache");
        };
    }

    static boolean supportsHeadDim(int headDim) {
        for (int d : HEAD_DIMS) {
            if (d == headDim) {
                return true;
            }
        }
        return false;
    }

    /** Query heads one prefill attention block serves: the largest specialization that divides the GQA group. */
    static int headsPerBlock(int heads, int kvHeads) {
        return largestDivisor(heads / kvHeads, HEAD_GROUPS);
    }

    /** Query heads one decode attention block serves. */
    static int decodeHeadsPerBlock(int heads, int kvHeads) {
        return largestDivisor(heads / kvHeads, DECODE_HEAD_GROUPS);
    }

    private static int largestDivisor(int group, int[] candidates) {
        for (int i = candidates.length - 1; i >= 0; i--) {
            if (group % candidates[i] == 0) {
                return candidates[i];
            }
        }
        return 1;
    }

    static boolean normV8(int cols) {
        return cols % 8 == 0 && cols <= NORM_V8_MAX_COLS;
    }

    static String norm(boolean fp32Input, int cols) {
        if (normV8(cols)) {
            return fp32Input ? RMS_NORM_V8_F32 : RMS_NORM_V8_F16;
        }
        return fp32Input ? RMS_NORM_F32 : RMS_NORM_F16;
    }

    static String addNorm(boolean fp32Residual, int cols) {
        if (normV8(cols)) {
            return fp32Residual ? ADD_RMS_NORM_V8_F32 : ADD_RMS_NORM_V8_F16;
        }
        return fp32Residual ? ADD_RMS_NORM_F32 : ADD_RMS_NORM_F16;
    }

    /** Threads per block of a norm kernel over rows of {@code cols}. */
    static int normThreads(int cols) {
        int perThread = normV8(cols) ? 16 : 4;
        return Math.max(32, Math.min(1024, ((cols + perThread - 1) / perThread + 31) / 32 * 32));
    }

    static List<String> all() {
        List<String> names = new ArrayList<>(List.of(EMBED_F16, EMBED_F32, ADD_F16, ADD_F32, SWIGLU, GATHER_ROWS,
                F32_TO_F16, BF16_TO_F16, ARGMAX_F32, READ_PROBE, SPIN, RMS_NORM_F16, RMS_NORM_F32, ADD_RMS_NORM_F16,
                ADD_RMS_NORM_F32, RMS_NORM_V8_F16, RMS_NORM_V8_F32, ADD_RMS_NORM_V8_F16, ADD_RMS_NORM_V8_F32,
                ROPE_STORE_KV, ropeStoreKv(KvCacheDtype.INT8), ropeStoreKv(KvCacheDtype.FP8), SAMPLE_F32,
                QUANT_E4M3, QUANT_INT8_TOKEN));
        for (int n = 1; n <= MAX_GEMV_ROWS; n++) {
            names.add(gemv(n, false));
            names.add(gemv(n, true));
            names.add(gemvGateUp(n));
            for (String f : QUANT_FORMATS) {
                names.add(qgemv(f, n, false));
                names.add(qgemv(f, n, true));
                names.add(qgemvGateUp(f, n));
            }
        }
        for (String f : QUANT_FORMATS) {
            names.add(dequant(f));
        }
        for (String f : java.util.Arrays.asList(null, "w8", "w4")) {
            names.add(gemvResidual(f));
            names.add(gemvNorm(f));
            names.add(gemvGateUpNorm(f));
            names.add(layer(f));
            for (String kind : List.of("res", "norm", "gate_up_norm")) {
                names.add(gemvStaged(f, kind));
            }
            if (f != null) {
                for (String kind : List.of("res", "norm", "gate_up_norm")) {
                    names.add(gemvPreScaled(f, kind));
                }
            }
        }
        for (KvCacheDtype kv : KV_DTYPES) {
            for (int d : HEAD_DIMS) {
                for (int g : DECODE_HEAD_GROUPS) {
                    names.add(attentionDecode(kv, d, g));
                }
                names.add(attentionDecodeWide(kv, d));
                for (int g : HEAD_GROUPS) {
                    names.add(attentionPrefill(kv, d, g));
                }
            }
        }
        for (KvCacheDtype kv : KV_DTYPES) {
            for (int d : BATCH_DECODE_HEAD_DIMS) {
                for (int g : BATCH_DECODE_GROUPS) {
                    names.add(defaultAttentionDecodeBatch(kv, d, g));
                }
            }
        }
        for (int n : BATCH_OCCUPANCY_VARIANTS) {
            names.add(batchOccupancyVariant(n));
        }
        return names;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what + " has no kernel");
        }
    }
}
