package dev.tinyrt.checkpoint;

/**
 * Tensor names of a TensorRT-LLM Llama checkpoint (tensorrt_llm/models/llama/convert.py). Note the MLP naming:
 * {@code mlp.fc} is HF's gate_proj (the SiLU input) and {@code mlp.gate} is HF's up_proj.
 */
public final class TrtllmNames {
    public static final String EMBEDDING = "transformer.vocab_embedding.weight";
    public static final String FINAL_NORM = "transformer.ln_f.weight";
    public static final String LM_HEAD = "lm_head.weight";
    /** Module names as exclude_modules patterns see them. */
    public static final String LM_HEAD_MODULE = "lm_head";
    public static final String EMBEDDING_MODULE = "transformer.vocab_embedding";

    private TrtllmNames() {
    }

    public static String layer(int l) {
        return "transformer.layers." + l + ".";
    }

    public static String inputNorm(int l) {
        return layer(l) + "input_layernorm.weight";
    }

    public static String postNorm(int l) {
        return layer(l) + "post_layernorm.weight";
    }

    /** Module prefix of fused q|k|v; its tensors are {@code <prefix>.weight}, {@code <prefix>.per_channel_scale}... */
    public static String qkv(int l) {
        return layer(l) + "attention.qkv";
    }

    /** o_proj. */
    public static String dense(int l) {
        return layer(l) + "attention.dense";
    }

    /** gate_proj. */
    public static String fc(int l) {
        return layer(l) + "mlp.fc";
    }

    /** up_proj. */
    public static String gate(int l) {
        return layer(l) + "mlp.gate";
    }

    /** down_proj. */
    public static String proj(int l) {
        return layer(l) + "mlp.proj";
    }

    public static String kvCacheScale(int l) {
        return layer(l) + "attention.kv_cache_scaling_factor";
    }
}
