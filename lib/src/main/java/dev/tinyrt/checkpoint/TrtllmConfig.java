package dev.tinyrt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.QuantAlgo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A TensorRT-LLM checkpoint's {@code config.json} for LlamaForCausalLM: the keys of TensorRT-LLM's
 * {@code PretrainedConfig}/{@code LLaMAConfig} (tensorrt_llm/models/modeling_utils.py, models/llama/config.py) and
 * its {@code quantization} block, which holds exactly the fields of {@code QuantConfig} (TensorRT-LLM builds it with
 * {@code QuantConfig(**dict)}, so no other keys may go there).
 *
 * @param dtype TensorRT-LLM's dtype string: float16, bfloat16 or float32
 */
public record TrtllmConfig(LlamaConfig model, String dtype, Quantization quantization) {
    public static final String CONFIG_FILE = "config.json";
    public static final String WEIGHTS_FILE = "rank0.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param algo            the checkpoint's quant_algo ({@link QuantAlgo#W4A16} is per channel here; group-wise
     *                        INT4 is always {@link QuantAlgo#W4A16_AWQ})
     * @param excludeModules  module name patterns left unquantized ({@code *} wildcards), or null
     */
    public record Quantization(QuantAlgo algo, KvCacheQuant kvCache, int groupSize, boolean preQuantScale,
                               float smoothquantVal, List<String> excludeModules) {
        public static Quantization none() {
            return new Quantization(QuantAlgo.NONE, KvCacheQuant.NONE, 128, false, 0.5f, null);
        }

        /** fnmatch-style match of {@code module} against exclude_modules, as TensorRT-LLM's quantize_layers does. */
        public boolean excludes(String module) {
            if (excludeModules == null) {
                return module.endsWith(TrtllmNames.LM_HEAD_MODULE) || module.endsWith(TrtllmNames.EMBEDDING_MODULE);
            }
            for (String pattern : excludeModules) {
                String regex = ("\\Q" + pattern + "\\E").replace("*", "\\E.*\\Q").replace("?", "\\E.\\Q");
                if (module.matches(regex)) {
                    return true;
                }
            }
            return false;
        }
    }

    public DType storageDtype() {
        return storageDtype(dtype);
    }

    public static DType storageDtype(String dtype) {
        return switch (dtype) {
            case "float16" -> DType.F16;
            case "bfloat16" -> DType.BF16;
            case "float32" -> DType.F32;
            default -> throw new TinyrtException("dtype \"" + dtype + "\" is not supported; allowed: float16, bfloat16, "
                    + "float32");
        };
    }

    public static TrtllmConfig read(Path checkpointDir) {
        Path file = checkpointDir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("not a TensorRT-LLM checkpoint: " + file + " not found");
        }
        try {
            return fromJson(JSON.readTree(file.toFile()), file.toString());
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code dir} holds a TensorRT-LLM checkpoint (config.json with an "architecture" key). */
    public static boolean isCheckpoint(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file) || !Files.isRegularFile(dir.resolve(WEIGHTS_FILE))) {
            return false;
        }
        try {
            return JSON.readTree(file.toFile()).has("architecture");
        } catch (IOException e) {
            return false;
        }
    }

    public static TrtllmConfig fromJson(JsonNode n, String source) {
        String arch = n.path("architecture").asText("");
        if (!arch.equals("LlamaForCausalLM")) {
            throw new TinyrtException(source + ": architecture \"" + arch + "\" is not supported; tinyrt reads "
                    + "TensorRT-LLM checkpoints of LlamaForCausalLM");
        }
        expect(n, "hidden_act", "silu", source);
        expect(n, "position_embedding_type", "rope_gpt_neox", source);
        if (n.hasNonNull("rotary_scaling")) {
            throw new TinyrtException(source + ": rotary_scaling " + n.get("rotary_scaling") + " is not supported yet "
                    + "(only default RoPE)");
        }
        for (String flag : new String[]{"attn_bias", "mlp_bias"}) {
            if (n.path(flag).asBoolean(false)) {
                throw new TinyrtException(source + ": " + flag + "=true is not supported");
            }
        }
        JsonNode mapping = n.path("mapping");
        int worldSize = mapping.path("world_size").asInt(1);
        if (worldSize != 1) {
            throw new TinyrtException(source + ": mapping.world_size " + worldSize + " is not supported; tinyrt reads "
                    + "single-rank checkpoints (rank0.safetensors)");
        }
        String dtype = required(n, "dtype", source).asText();
        storageDtype(dtype);
        int hidden = required(n, "hidden_size", source).asInt();
        int heads = required(n, "num_attention_heads", source).asInt();
        int kvHeads = n.hasNonNull("num_key_value_heads") ? n.get("num_key_value_heads").asInt() : heads;
        int headSize = n.hasNonNull("head_size") ? n.get("head_size").asInt() : hidden / heads;
        boolean tied = n.path("tie_word_embeddings").asBoolean(n.path("share_embedding_table").asBoolean(false));
        LlamaConfig model;
        try {
            model = new LlamaConfig(required(n, "vocab_size", source).asInt(), hidden,
                    required(n, "intermediate_size", source).asInt(), required(n, "num_hidden_layers", source).asInt(),
                    heads, kvHeads, headSize, n.path("max_position_embeddings").asInt(2048),
                    (float) n.path("norm_epsilon").asDouble(1e-5), n.path("rotary_base").asDouble(10000.0), tied,
                    dtype, n.path("bos_token_id").asInt(1), eosIds(n.get("eos_token_id")));
        } catch (IllegalArgumentException e) {
            throw new TinyrtException(source + ": " + e.getMessage(), e);
        }
        return new TrtllmConfig(model, dtype, quantization(n.path("quantization"), source));
    }

    private static Quantization quantization(JsonNode q, String source) {
        String algoName = q.hasNonNull("quant_algo") ? q.get("quant_algo").asText() : null;
        QuantAlgo algo = null;
        for (QuantAlgo a : QuantAlgo.values()) {
            if (java.util.Objects.equals(a.trtllmName(), algoName)) {
                algo = a;
            }
        }
        if (algo == null) {
            throw new TinyrtException(source + ": quantization.quant_algo \"" + algoName + "\" is not supported; "
                    + "allowed: null, W8A16, W4A16, W4A16_AWQ, W8A8_SQ_PER_CHANNEL, FP8");
        }
        String kvName = q.hasNonNull("kv_cache_quant_algo") ? q.get("kv_cache_quant_algo").asText() : null;
        KvCacheQuant kv = KvCacheQuant.fromTrtllmName(kvName);
        if (kv == null) {
            throw new TinyrtException(source + ": quantization.kv_cache_quant_algo \"" + kvName + "\" is not supported;"
                    + " allowed: null, INT8, FP8");
        }
        if (q.path("has_zero_point").asBoolean(false)) {
            throw new TinyrtException(source + ": quantization.has_zero_point=true (asymmetric INT4) is not supported");
        }
        List<String> exclude = null;
        if (q.hasNonNull("exclude_modules")) {
            exclude = new ArrayList<>();
            for (JsonNode e : q.get("exclude_modules")) {
                exclude.add(e.asText());
            }
        }
        return new Quantization(algo, kv, q.path("group_size").asInt(128), q.path("pre_quant_scale").asBoolean(false),
                (float) q.path("smoothquant_val").asDouble(0.5), exclude);
    }

    /** config.json content; {@code producer} (may be null) records how the checkpoint was made. */
    public ObjectNode toJson(ObjectNode producer) {
        LlamaConfig m = model;
        ObjectNode n = JSON.createObjectNode();
        n.put("architecture", "LlamaForCausalLM");
        n.put("dtype", dtype);
        n.put("logits_dtype", "float32");
        n.put("vocab_size", m.vocabSize());
        n.put("max_position_embeddings", m.maxPositionEmbeddings());
        n.put("hidden_size", m.hiddenSize());
        n.put("num_hidden_layers", m.numLayers());
        n.put("num_attention_heads", m.numHeads());
        n.put("num_key_value_heads", m.numKvHeads());
        n.put("head_size", m.headDim());
        n.put("hidden_act", "silu");
        n.put("intermediate_size", m.intermediateSize());
        n.put("norm_epsilon", m.rmsNormEps());
        n.put("position_embedding_type", "rope_gpt_neox");
        n.put("rotary_base", m.ropeTheta());
        n.putNull("rotary_scaling");
        n.put("attn_bias", false);
        n.put("mlp_bias", false);
        n.put("share_embedding_table", m.tieWordEmbeddings());
        n.put("tie_word_embeddings", m.tieWordEmbeddings());
        n.put("use_parallel_embedding", false);
        n.put("embedding_sharding_dim", 0);
        ObjectNode mapping = n.putObject("mapping");
        mapping.put("world_size", 1);
        mapping.put("tp_size", 1);
        mapping.put("pp_size", 1);
        ObjectNode q = n.putObject("quantization");
        Quantization qz = quantization;
        putNullable(q, "quant_algo", qz.algo().trtllmName());
        putNullable(q, "kv_cache_quant_algo", qz.kvCache().trtllmName());
        q.put("group_size", qz.groupSize());
        q.put("smoothquant_val", qz.smoothquantVal());
        q.putNull("clamp_val");
        q.put("use_meta_recipe", false);
        q.put("has_zero_point", false);
        q.put("pre_quant_scale", qz.preQuantScale());
        if (qz.excludeModules() == null) {
            q.putNull("exclude_modules");
        } else {
            ArrayNode ex = q.putArray("exclude_modules");
            qz.excludeModules().forEach(ex::add);
        }
        n.put("bos_token_id", m.bosTokenId());
        if (m.eosTokenIds().size() == 1) {
            n.put("eos_token_id", m.eosTokenIds().getFirst());
        } else {
            m.eosTokenIds().forEach(n.putArray("eos_token_id")::add);
        }
        if (producer != null) {
            n.set("producer", producer);
        }
        return n;
    }

    private static void putNullable(ObjectNode n, String key, String value) {
        if (value == null) {
            n.putNull(key);
        } else {
            n.put(key, value);
        }
    }

    private static List<Integer> eosIds(JsonNode node) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            ids.add(2);
        } else if (node.isArray()) {
            node.forEach(x -> ids.add(x.asInt()));
        } else {
            ids.add(node.asInt());
        }
        return ids;
    }

    private static JsonNode required(JsonNode n, String key, String source) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            throw new TinyrtException(source + ": missing required key \"" + key + "\"");
        }
        return v;
    }

    private static void expect(JsonNode n, String key, String value, String source) {
        if (n.hasNonNull(key) && !n.get(key).asText().equals(value)) {
            throw new TinyrtException(source + ": " + key + " \"" + n.get(key).asText() + "\" is not supported; "
                    + "allowed: " + value);
        }
    }
}
