package dev.tinyrt.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.cuda.TacticRecord;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.TrtllmConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An engine directory (format in docs/engine.md): {@code config.json} with TensorRT-LLM's two sections,
 * {@code pretrained_config} (the checkpoint's config) and {@code build_config} (limits, plugin_config), plus a
 * {@code tinyrt} section (format version, target backend and GPU, GEMM tactics), {@code rank0.safetensors} with the
 * re-packed weights, and the tokenizer files.
 *
 * @param gpu      the GPU the tactics were timed on ({@code null} for a CPU engine)
 * @param tactics  the kernel chosen per GEMM shape (empty for a CPU engine)
 */
public record EngineDir(Path directory, TrtllmConfig pretrained, BuildConfig.BuildLimits limits, String backend,
                        Gpu gpu, List<TacticRecord> tactics, String tacticsNote) {
    /** Bumped whenever the directory's layout changes; an engine of another version must be rebuilt. */
    public static final int FORMAT_VERSION = 1;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The device an engine was tuned on: tactics are only trusted on the same GPU with the same kernels. */
    public record Gpu(String name, String computeCapability, String kernelSourcesHash) {
    }

    /** Whether {@code dir} holds an engine (config.json with pretrained_config and build_config). */
    public static boolean isEngine(Path dir) {
        Path file = dir.resolve(TrtllmConfig.CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            return n.has("pretrained_config") && n.has("build_config");
        } catch (IOException e) {
            return false;
        }
    }

    public static EngineDir read(Path dir) {
        Path file = dir.resolve(TrtllmConfig.CONFIG_FILE);
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
        JsonNode t = root.path("tinyrt");
        int version = t.path("engine_format_version").asInt(-1);
        if (version != FORMAT_VERSION) {
            throw new TinyrtException(file + ": engine format version " + (version < 0 ? "missing" : version)
                    + ", this tinyrt reads version " + FORMAT_VERSION + ": rebuild the engine with build_engine.java");
        }
        if (!Files.isRegularFile(dir.resolve(TrtllmConfig.WEIGHTS_FILE))) {
            throw new TinyrtException("engine " + dir + " has no " + TrtllmConfig.WEIGHTS_FILE + ": rebuild it");
        }
        TrtllmConfig pretrained = TrtllmConfig.fromJson(root.path("pretrained_config"), file + " pretrained_config");
        JsonNode b = root.path("build_config");
        BuildConfig.BuildLimits limits = new BuildConfig.BuildLimits(b.path("max_batch_size").asInt(),
                b.path("max_input_len").asInt(), b.path("max_seq_len").asInt(), b.path("max_num_tokens").asInt(),
                b.path("plugin_config").path("tokens_per_block").asInt());
        JsonNode g = t.path("gpu");
        Gpu gpu = g.isObject() ? new Gpu(g.path("name").asText(), g.path("compute_capability").asText(),
                g.path("kernel_sources_sha256").asText()) : null;
        List<TacticRecord> tactics = new ArrayList<>();
        for (JsonNode x : t.path("tactics")) {
            tactics.add(new TacticRecord(x.path("n").asInt(), x.path("m").asInt(), x.path("k").asInt(),
                    x.path("fp32_out").asBoolean(), x.path("swiglu").asBoolean(), x.path("tactic").asText(),
                    x.path("gemv_us").asDouble(Double.NaN), x.path("cublas_us").asDouble(Double.NaN),
                    x.path("measured").asBoolean()));
        }
        return new EngineDir(dir, pretrained, limits, t.path("backend").asText(), gpu, tactics,
                t.path("tactics_note").asText(""));
    }

    /** Writes config.json: the checkpoint's config verbatim as pretrained_config, the limits as build_config. */
    static void writeConfig(Path dir, JsonNode pretrained, BuildConfig.BuildLimits limits, String backend, Gpu gpu,
                            List<TacticRecord> tactics, String tacticsNote, String dtype) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "tinyrt-" + FORMAT_VERSION);
        root.set("pretrained_config", pretrained);
        ObjectNode b = root.putObject("build_config");
        b.put("max_batch_size", limits.maxBatchSize());
        b.put("max_input_len", limits.maxInputLen());
        b.put("max_seq_len", limits.maxSeqLen());
        b.put("max_num_tokens", limits.maxNumTokens());
        b.put("max_beam_width", 1);
        b.put("opt_num_tokens", limits.maxNumTokens());
        b.put("gather_context_logits", false);
        b.put("gather_generation_logits", false);
        ObjectNode plugins = b.putObject("plugin_config");
        plugins.put("tokens_per_block", limits.tokensPerBlock());
        plugins.put("paged_kv_cache", true);
        plugins.put("remove_input_padding", true);
        plugins.put("context_fmha", true);
        plugins.put("use_paged_context_fmha", true);
        plugins.put("gemm_plugin", dtype);
        plugins.put("gpt_attention_plugin", dtype);
        ObjectNode t = root.putObject("tinyrt");
        t.put("engine_format_version", FORMAT_VERSION);
        t.put("backend", backend);
        t.put("weights", "rank0.safetensors: the checkpoint's tensors; dense gate_proj|up_proj fused as "
                + "transformer.layers.N." + EngineWeightLayout.GATE_UP);
        if (gpu == null) {
            t.putNull("gpu");
        } else {
            t.putObject("gpu").put("name", gpu.name()).put("compute_capability", gpu.computeCapability())
                    .put("kernel_sources_sha256", gpu.kernelSourcesHash());
        }
        t.put("tactics_note", tacticsNote);
        ArrayNode list = t.putArray("tactics");
        for (TacticRecord r : tactics) {
            ObjectNode x = list.addObject();
            x.put("n", r.n()).put("m", r.m()).put("k", r.k()).put("fp32_out", r.fp32Out()).put("swiglu", r.swiglu())
                    .put("tactic", r.tactic()).put("measured", r.measured());
            if (r.measured()) {
                x.put("gemv_us", r.gemvMicros()).put("cublas_us", r.cublasMicros());
            }
        }
        JSON.writeValue(dir.resolve(TrtllmConfig.CONFIG_FILE).toFile(), root);
    }
}
