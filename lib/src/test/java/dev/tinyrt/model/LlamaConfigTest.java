package dev.tinyrt.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** TinyLlama-1.1B's config.json as transformers 4.x wrote it. */
    private static final String TINYLLAMA_HF4 = """
            {"architectures":["LlamaForCausalLM"],"attention_bias":false,"bos_token_id":1,"eos_token_id":2,
             "hidden_act":"silu","hidden_size":2048,"initializer_range":0.02,"intermediate_size":5632,
             "max_position_embeddings":2048,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":22,
             "num_key_value_heads":4,"pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":null,
             "rope_theta":10000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
             "transformers_version":"4.35.0","use_cache":true,"vocab_size":32000}""";

    /** The same model as transformers 5.x writes it. */
    private static final String TINYLLAMA_HF5 = """
            {"architectures":["LlamaForCausalLM"],"bos_token_id":1,"dtype":"bfloat16","eos_token_id":[2],
             "head_dim":64,"hidden_act":"silu","hidden_size":2048,"intermediate_size":5632,
             "max_position_embeddings":2048,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":22,
             "num_key_value_heads":4,"rms_norm_eps":1e-05,
             "rope_parameters":{"rope_theta":10000.0,"rope_type":"default"},"tie_word_embeddings":false,
             "transformers_version":"5.17.0","vocab_size":32000}""";

    private static LlamaConfig parse(String json) throws Exception {
        return LlamaConfig.fromJson(JSON.readTree(json), "config.json");
    }

    @Test
    void bothTransformersSpellingsGiveTheSameConfig() throws Exception {
        LlamaConfig hf4 = parse(TINYLLAMA_HF4);
        LlamaConfig hf5 = parse(TINYLLAMA_HF5);
        assertEquals(hf4, hf5);
        assertEquals(64, hf4.headDim());
        assertEquals(8, hf4.groupSize());
        assertEquals(256, hf4.kvDim());
        assertEquals("bfloat16", hf4.torchDtype());
        assertEquals(List.of(2), hf5.eosTokenIds());
        assertEquals(1_100_048_384L, hf4.parameterCount());  // TinyLlama-1.1B's published count
    }

    @Test
    void writtenConfigsReadBackIdentically() throws Exception {
        LlamaConfig c = TestCheckpoints.gqa();
        for (LlamaConfig.Spelling s : LlamaConfig.Spelling.values()) {
            assertEquals(c, LlamaConfig.fromJson(c.toHfJson(s), "x"));
        }
        assertTrue(c.toHfJson(LlamaConfig.Spelling.HF5).has("rope_parameters"));
        assertTrue(c.toHfJson(LlamaConfig.Spelling.HF4).has("rope_theta"));
    }

    @Test
    void missingKvHeadsMeansMhaAndMissingHeadDimIsDerived() throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(TINYLLAMA_HF4);
        n.remove("num_key_value_heads");
        LlamaConfig c = LlamaConfig.fromJson(n, "x");
        assertEquals(32, c.numKvHeads());
        assertEquals(64, c.headDim());
    }

    @Test
    void otherArchitecturesAreRejectedClearly() throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(TINYLLAMA_HF4);
        n.put("model_type", "mistral");
        n.putArray("architectures").add("MistralForCausalLM");
        TinyrtException e = assertThrows(TinyrtException.class, () -> LlamaConfig.fromJson(n, "cfg.json"));
        assertTrue(e.getMessage().contains("MistralForCausalLM is not supported"), e.getMessage());
    }

    @Test
    void unsupportedFeaturesAndBadValuesNameTheKey() throws Exception {
        ObjectNode scaled = (ObjectNode) JSON.readTree(TINYLLAMA_HF4);
        scaled.putObject("rope_scaling").put("rope_type", "llama3");
        assertTrue(assertThrows(TinyrtException.class, () -> LlamaConfig.fromJson(scaled, "c"))
                .getMessage().contains("llama3"));
        ObjectNode missing = (ObjectNode) JSON.readTree(TINYLLAMA_HF4);
        missing.remove("hidden_size");
        assertTrue(assertThrows(TinyrtException.class, () -> LlamaConfig.fromJson(missing, "c"))
                .getMessage().contains("hidden_size"));
        ObjectNode badGroups = (ObjectNode) JSON.readTree(TINYLLAMA_HF4);
        badGroups.put("num_key_value_heads", 5);
        assertTrue(assertThrows(TinyrtException.class, () -> LlamaConfig.fromJson(badGroups, "c"))
                .getMessage().contains("num_key_value_heads"));
        ObjectNode biased = (ObjectNode) JSON.readTree(TINYLLAMA_HF4);
        biased.put("attention_bias", true);
        assertThrows(TinyrtException.class, () -> LlamaConfig.fromJson(biased, "c"));
    }

    @Test
    void missingFileIsAUserError() {
        TinyrtException e = assertThrows(TinyrtException.class,
                () -> LlamaConfig.read(java.nio.file.Path.of("/nonexistent/config.json")));
        assertTrue(e.getMessage().contains("not found"));
    }
}
