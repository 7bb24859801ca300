package dev.tinyrt.bench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import dev.tinyrt.runtime.ExecutorConfig;

import java.io.IOException;

/**
 * The executor limits a point ran with, in TensorRT-LLM's names.
 *
 * @param kvCacheDtype the KV cache's element type as it ran ("auto": the backend's own, fp32 on the CPU and fp16 on
 *                     CUDA; null in results written before it was recorded: {@link Reader} accepts those, and nothing
 *                     else that is missing)
 */
@JsonDeserialize(using = ExecutorSettings.Reader.class)
public record ExecutorSettings(int maxBatchSize, int maxNumTokens, int kvCacheTokens, int tokensPerBlock,
                               boolean prefixCaching, String schedulerPolicy, String kvCacheDtype) {

    /** @param kvCacheDtype the element type the KV cache had (the model's own when the config said auto) */
    public static ExecutorSettings of(ExecutorConfig c, dev.tinyrt.backend.KvCacheDtype kvCacheDtype) {
        return new ExecutorSettings(c.maxBatchSize(), c.maxNumTokens(), c.kvCacheTokens(), c.tokensPerBlock(),
                c.prefixCaching(), c.policy().name(), kvCacheDtype.name().toLowerCase(java.util.Locale.ROOT));
    }

    /** An explicitly quantized KV cache ("int8", "fp8"), which tables and charts tell apart; else null. */
    public String quantizedKvCache() {
        return "int8".equals(kvCacheDtype) || "fp8".equals(kvCacheDtype) ? kvCacheDtype : null;
    }

    /** Strict like the rest of the schema, except that kv_cache_dtype may be absent (older results). */
    static final class Reader extends StdDeserializer<ExecutorSettings> {
        private static final java.util.Set<String> KNOWN = java.util.Set.of("max_batch_size", "max_num_tokens",
                "kv_cache_tokens", "tokens_per_block", "prefix_caching", "scheduler_policy", "kv_cache_dtype");

        Reader() {
            super(ExecutorSettings.class);
        }

        @Override
        public ExecutorSettings deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            JsonNode n = p.readValueAsTree();
            for (var field : n.properties()) {
                if (!KNOWN.contains(field.getKey())) {
                    return ctx.reportInputMismatch(ExecutorSettings.class, "unknown executor setting "
                            + field.getKey());
                }
            }
            return new ExecutorSettings(required(n, "max_batch_size", ctx).intValue(),
                    required(n, "max_num_tokens", ctx).intValue(), required(n, "kv_cache_tokens", ctx).intValue(),
                    required(n, "tokens_per_block", ctx).intValue(), required(n, "prefix_caching", ctx).booleanValue(),
                    required(n, "scheduler_policy", ctx).textValue(),
                    n.hasNonNull("kv_cache_dtype") ? n.get("kv_cache_dtype").textValue() : null);
        }

        private static JsonNode required(JsonNode n, String name, DeserializationContext ctx) throws IOException {
            JsonNode v = n.get(name);
            if (v == null || v.isNull()) {
                return ctx.reportInputMismatch(ExecutorSettings.class, "missing executor setting " + name);
            }
            return v;
        }
    }
}
