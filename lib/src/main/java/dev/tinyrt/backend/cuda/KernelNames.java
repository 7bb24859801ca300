package dev.tinyrt.backend.cuda;

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
    /** Query heads per attention block (sharing one KV head). */
    static final int[] HEAD_GROUPS = {1, 2, 4, 8};

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
    static final String ROPE_STORE_KV = "tinyrt_rope_store_kv";

    private KernelNames() {
    }

    static String gemv(int rows, boolean fp32Out) {
        check(rows >= 1 && rows <= MAX_GEMV_ROWS, "GEMV rows " + rows);
        return "tinyrt_gemv_n" + rows + (fp32Out ? "_f32" : "_f16");
    }

    static String gemvSwiglu(int rows) {
        check(rows >= 1 && rows <= MAX_GEMV_ROWS, "GEMV rows " + rows);
        return "tinyrt_gemv_swiglu_n" + rows;
    }

    static String attentionDecode(int headDim, int group) {
        return "tinyrt_attn_decode_d" + headDim + "_g" + group;
    }

    static String attentionPrefill(int headDim, int group) {
        return "tinyrt_attn_prefill_d" + headDim + "_g" + group;
    }

    static boolean supportsHeadDim(int headDim) {
        for (int d : HEAD_DIMS) {
            if (d == headDim) {
                return true;
            }
        }
        return false;
    }

    /** Query heads one attention block serves: the largest specialization that divides the GQA group. */
    static int headsPerBlock(int heads, int kvHeads) {
        int group = heads / kvHeads;
        for (int i = HEAD_GROUPS.length - 1; i >= 0; i--) {
            if (group % HEAD_GROUPS[i] == 0) {
                return HEAD_GROUPS[i];
            }
        }
        return 1;
    }

    static String norm(boolean fp32Input) {
        return fp32Input ? RMS_NORM_F32 : RMS_NORM_F16;
    }

    static String addNorm(boolean fp32Residual) {
        return fp32Residual ? ADD_RMS_NORM_F32 : ADD_RMS_NORM_F16;
    }

    static List<String> all() {
        List<String> names = new ArrayList<>(List.of(EMBED_F16, EMBED_F32, ADD_F16, ADD_F32, SWIGLU, GATHER_ROWS,
                F32_TO_F16, BF16_TO_F16, ARGMAX_F32, READ_PROBE, SPIN, RMS_NORM_F16, RMS_NORM_F32, ADD_RMS_NORM_F16,
                ADD_RMS_NORM_F32, ROPE_STORE_KV));
        for (int n = 1; n <= MAX_GEMV_ROWS; n++) {
            names.add(gemv(n, false));
            names.add(gemv(n, true));
            names.add(gemvSwiglu(n));
        }
        for (int d : HEAD_DIMS) {
            for (int g : HEAD_GROUPS) {
                names.add(attentionDecode(d, g));
                names.add(attentionPrefill(d, g));
            }
        }
        return names;
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what + " has no kernel");
        }
    }
}
