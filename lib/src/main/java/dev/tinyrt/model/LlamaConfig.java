package dev.tinyrt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a Llama-family model, read from a HuggingFace {@code config.json} as written by transformers 4.x
 * ({@code rope_theta}, {@code torch_dtype}) or 5.x ({@code rope_parameters.rope_theta}, {@code dtype}).
 *
 * @param torchDtype the storage dtype the checkpoint declares ("float16", "bfloat16", "float32"), may be null
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositionEmbeddings,
        float rmsNormEps,
        double ropeTheta,
        boolean tieWordEmbeddings,
        String torchDtype,
        int bosTokenId,
        List<Integer> eosTokenIds) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public LlamaConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        require(vocabSize > 0, "vocab_size", vocabSize);
        require(hiddenSize > 0, "hidden_size", hiddenSize);
        require(intermediateSize > 0, "intermediate_size", intermediateSize);
        require(numLayers > 0, "num_hidden_layers", numLayers);
        require(numHeads > 0, "num_attention_heads", numHeads);
        require(numKvHeads > 0 && numHeads % numKvHeads == 0, "num_key_value_heads (must divide num_attention_heads)",
                numKvHeads);
        require(headDim > 0 && headDim % 2 == 0, "head_dim (must be even for RoPE)", headDim);
        require(maxPositionEmbeddings > 0, "max_position_embeddings", maxPositionEmbeddings);
        require(rmsNormEps > 0, "rms_norm_eps", rmsNormEps);
        require(ropeTheta > 0, "rope_theta", ropeTheta);
    }

    /** Number of query heads that share one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Parameter count of the model as HF counts it (tied embeddings counted once). */
    public long parameterCount() {
        long perLayer = (long) hiddenSize * qDim() + 2L * hiddenSize * kvDim() + (long) qDim() * hiddenSize
                + 3L * hiddenSize * intermediateSize + 2L * hiddenSize;
        long embeddings = (long) vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
        return embeddings + perLayer * numLayers + hiddenSize;
    }

    public static LlamaConfig read(Path configJson) {
        if (!Files.isRegularFile(configJson)) {
            throw new TinyrtException("model config not found: " + configJson);
        }
        try {
            return fromJson(JSON.readTree(configJson.toFile()), configJson.toString());
        } catch (IOException e) {
            throw new TinyrtException("cannot read model config " + configJson + ": " + e.getMessage(), e);
        }
    }

    /** Parses a HF config; {@code source} names the file in error messages. */
    public static LlamaConfig fromJson(JsonNode n, String source) {
        if (n == null || !n.isObject()) {
            throw new TinyrtException(source + ": not a JSON object");
        }
        String modelType = n.path("model_type").asText("");
        String arch = n.path("architectures").path(0).asText("");
        if (!modelType.equals("llama") && !arch.equals("LlamaForCausalLM")) {
            String what = !arch.isEmpty() ? arch : (!modelType.isEmpty() ? modelType : "(no model_type)");
            throw new TinyrtException(source + ": architecture " + what
                    + " is not supported; tinyrt runs Llama-family models (model_type \"llama\", LlamaForCausalLM)");
        }
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new TinyrtException(source + ": hidden_act \"" + act + "\" is not supported (only silu)");
        }
        for (String flag : new String[]{"attention_bias", "mlp_bias"}) {
            if (n.path(flag).asBoolean(false)) {
                throw new TinyrtException(source + ": " + flag + "=true is not supported");
            }
        }
        int hidden = requiredInt(n, "hidden_size", source);
        int heads = requiredInt(n, "num_attention_heads", source);
        int kvHeads = n.has("num_key_value_heads") && !n.get("num_key_value_heads").isNull()
                ? n.get("num_key_value_heads").asInt() : heads;
        int headDim = n.hasNonNull("head_dim") ? n.get("head_dim").asInt() : hidden / heads;
        if (!n.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new TinyrtException(source + ": hidden_size " + hidden + " is not divisible by num_attention_heads "
                    + heads + " and no head_dim is given");
        }
        double theta = ropeTheta(n, source);
        String dtype = n.hasNonNull("dtype") ? n.get("dtype").asText() : n.path("torch_dtype").asText(null);
        try {
            return new LlamaConfig(
                    requiredInt(n, "vocab_size", source), hidden, requiredInt(n, "intermediate_size", source),
                    requiredInt(n, "num_hidden_layers", source), heads, kvHeads, headDim,
                    n.path("max_position_embeddings").asInt(2048),
                    (float) n.path("rms_norm_eps").asDouble(1e-6), theta,
                    n.path("tie_word_embeddings").asBoolean(false), dtype,
                    n.path("bos_token_id").asInt(1), tokenIds(n.get("eos_token_id"), 2));
        } catch (IllegalArgumentException e) {
            throw new TinyrtException(source + ": " + e.getMessage(), e);
        }
    }

    /** transformers 5 moved rope_theta into rope_parameters; rope scaling variants are not implemented yet. */
    private static double ropeTheta(JsonNode n, String source) {
        JsonNode params = n.get("rope_parameters");
        JsonNode scaling = n.get("rope_scaling");
        for (JsonNode p : new JsonNode[]{params, scaling}) {
            if (p != null && p.isObject()) {
                String type = p.hasNonNull("rope_type") ? p.get("rope_type").asText() : p.path("type").asText("default");
                if (!type.equals("default")) {
                    throw new TinyrtException(source + ": rope type \"" + type
                            + "\" is not supported yet (only default RoPE)");
                }
            }
        }
        if (params != null && params.hasNonNull("rope_theta")) {
            return params.get("rope_theta").asDouble();
        }
        return n.path("rope_theta").asDouble(10000.0);
    }

    static List<Integer> tokenIds(JsonNode node, int fallback) {
        List<Integer> ids = new ArrayList<>();
        if (node == null || node.isNull()) {
            ids.add(fallback);
        } else if (node.isArray()) {
            node.forEach(x -> ids.add(x.asInt()));
        } else {
            ids.add(node.asInt());
        }
        return ids;
    }

    private static int requiredInt(JsonNode n, String key, String source) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            throw new TinyrtException(source + ": missing required key \"" + key + "\"");
        }
        if (!v.canConvertToInt()) {
            throw new TinyrtException(source + ": key \"" + key + "\" must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static void require(boolean ok, String key, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + key + ": " + value);
        }
    }

    /** Spelling of config.json to write: transformers 4.x or 5.x. */
    public enum Spelling { HF4, HF5 }

    /** Writes this config as HF config.json content. */
    public ObjectNode toHfJson(Spelling spelling) {
        ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("model_type", "llama");
        n.put("attention_bias", false);
        n.put("attention_dropout", 0.0);
        n.put("bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) {
            n.put("eos_token_id", eosTokenIds.getFirst());
        } else {
            eosTokenIds.forEach(n.putArray("eos_token_id")::add);
        }
        if (spelling == Spelling.HF5 || headDim * numHeads != hiddenSize) {
            n.put("head_dim", headDim);  // transformers 4.x configs usually leave it implied
        }
        n.put("hidden_act", "silu");
        n.put("hidden_size", hiddenSize);
        n.put("initializer_range", 0.02);
        n.put("intermediate_size", intermediateSize);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("mlp_bias", false);
        n.put("num_attention_heads", numHeads);
        n.put("num_hidden_layers", numLayers);
        n.put("num_key_value_heads", numKvHeads);
        n.put("pretraining_tp", 1);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("tie_word_embeddings", tieWordEmbeddings);
        n.put("use_cache", true);
        n.put("vocab_size", vocabSize);
        if (spelling == Spelling.HF5) {
            ObjectNode rope = n.putObject("rope_parameters");
            rope.put("rope_theta", ropeTheta);
            rope.put("rope_type", "default");
            n.put("dtype", torchDtype);
            n.put("transformers_version", "5.17.0");
        } else {
            n.put("rope_theta", ropeTheta);
            n.putNull("rope_scaling");
            n.put("torch_dtype", torchDtype);
            n.put("transformers_version", "4.46.3");
        }
        return n;
    }

    public LlamaConfig withDtype(String dtype) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, dtype, bosTokenId, eosTokenIds);
    }
}
