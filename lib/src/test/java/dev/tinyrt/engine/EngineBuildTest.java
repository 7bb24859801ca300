package dev.tinyrt.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** build_engine on the CPU: a TensorRT-LLM checkpoint becomes an engine that runs exactly like the checkpoint. */
class EngineBuildTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    @TempDir
    static Path tmp;
    private static Path checkpoint;

    @BeforeAll
    static void convert() {
        Path home = ProjectHome.require();
        checkpoint = tmp.resolve("ckpt");
        TrtllmConverter.convert(home.resolve("data/models/tinyrt-12m"),
                BuildConfigLoader.load(home.resolve("configs/tinyllama_fp16.yaml")), null, checkpoint);
    }

    private static BuildConfig.BuildLimits limits(int batch, int input, int seq, int tokens, int block) {
        return new BuildConfig.BuildLimits(batch, input, seq, tokens, block);
    }

    @Test
    void theEngineRunsExactlyLikeTheCheckpoint() throws Exception {
        Path engine = tmp.resolve("engine");
        EngineBuilder.Result r = EngineBuilder.build(checkpoint, engine, limits(16, 200, 256, 512, 16), "cpu", QUIET);
        assertEquals("cpu", r.backend());
        assertEquals(0, r.tactics());
        assertTrue(EngineDir.isEngine(engine));
        assertTrue(Files.isRegularFile(engine.resolve("tokenizer.json")), "the tokenizer travels with the engine");
        assertFalse(Files.exists(tmp.resolve("engine.partial")));
        int[] prompt = {1, 450, 7483, 310, 3444, 338};
        SamplingParams greedy = SamplingParams.greedy(16).withIgnoreEos(true);
        SamplingParams sampled = greedy.withTemperature(0.8f).withTopK(40).withTopP(0.9f).withSeed(7L);
        float[][] expectedLogits;
        int[] expectedGreedy;
        int[] expectedSampled;
        try (LoadedModel m = LoadedModel.open(checkpoint, LoadedModel.Options.defaults())) {
            expectedLogits = m.model().promptLogits(prompt);
            expectedGreedy = m.generator().generate(prompt, greedy, TokenListener.NONE).outputIds();
            expectedSampled = m.generator().generate(prompt, sampled, TokenListener.NONE).outputIds();
        }
        try (LoadedModel m = LoadedModel.open(engine, LoadedModel.Options.defaults())) {
            assertTrue(Arrays.deepEquals(expectedLogits, m.model().promptLogits(prompt)), "prompt logits bit for bit");
            assertArrayEquals(expectedGreedy, m.generator().generate(prompt, greedy, TokenListener.NONE).outputIds());
            assertArrayEquals(expectedSampled, m.generator().generate(prompt, sampled, TokenListener.NONE).outputIds());
            ExecutorConfig d = m.defaultExecutorConfig();
            assertEquals(16, d.maxBatchSize());
            assertEquals(200, d.maxInputLen());
            assertEquals(512, d.maxNumTokens());
            assertEquals(16, d.tokensPerBlock());
            assertTrue(d.kvCacheTokens() <= 16 * 256, "KV cache capped by max_batch_size x max_seq_len");
            ExecutorConfig wide = m.defaultExecutorConfig(ExecutorConfig.DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION, 64);
            assertEquals(64, wide.maxBatchSize(), "a benchmark's batch above the build limit");
            assertTrue(wide.kvCacheTokens() > d.kvCacheTokens() && wide.kvCacheTokens() <= 64 * 256,
                    "the cap follows the requested batch, not the build's: " + wide.kvCacheTokens());
        }
    }

    @Test
    void configJsonHasTensorRtLlmsSections() throws Exception {
        Path engine = tmp.resolve("engine-config");
        EngineBuilder.build(checkpoint, engine, limits(8, 100, 200, 300, 64), "cpu", QUIET);
        JsonNode root = new ObjectMapper().readTree(engine.resolve("config.json").toFile());
        JsonNode ckpt = new ObjectMapper().readTree(checkpoint.resolve("config.json").toFile());
        assertEquals(ckpt, root.get("pretrained_config"), "pretrained_config is the checkpoint's config");
        JsonNode b = root.get("build_config");
        assertEquals(8, b.get("max_batch_size").asInt());
        assertEquals(100, b.get("max_input_len").asInt());
        assertEquals(200, b.get("max_seq_len").asInt());
        assertEquals(300, b.get("max_num_tokens").asInt());
        assertEquals(1, b.get("max_beam_width").asInt());
        assertEquals(64, b.path("plugin_config").get("tokens_per_block").asInt());
        assertTrue(b.path("plugin_config").get("paged_kv_cache").asBoolean());
        JsonNode t = root.get("tinyrt");
        assertEquals(EngineDir.FORMAT_VERSION, t.get("engine_format_version").asInt());
        assertEquals("cpu", t.get("backend").asText());
        assertTrue(t.get("gpu").isNull());
        assertEquals(0, t.get("tactics").size());
        assertTrue(t.get("tactics_note").asText().startsWith("not timed"));
        assertTrue(Files.size(engine.resolve("rank0.safetensors")) > 0);
    }

    @Test
    void badInputsGiveOneLineErrors() {
        BuildConfig.BuildLimits ok = limits(8, 100, 200, 300, 32);
        oneLine("not found", () -> EngineBuilder.build(tmp.resolve("nope"), tmp.resolve("e1"), ok, "cpu", QUIET));
        oneLine("not a TensorRT-LLM checkpoint", () -> EngineBuilder.build(ProjectHome.require()
                .resolve("data/models/tinyrt-12m"), tmp.resolve("e2"), ok, "cpu", QUIET));
        oneLine("--max-seq-len 100000 is out of range", () -> EngineBuilder.build(checkpoint, tmp.resolve("e3"),
                limits(8, 100, 100000, 300, 32), "cpu", QUIET));
        oneLine("--max-input-len 300 is out of range", () -> EngineBuilder.build(checkpoint, tmp.resolve("e4"),
                limits(8, 300, 200, 300, 32), "cpu", QUIET));
        oneLine("--tokens-per-block 24", () -> EngineBuilder.build(checkpoint, tmp.resolve("e5"),
                limits(8, 100, 200, 300, 24), "cpu", QUIET));
        oneLine("--max-batch-size 0", () -> EngineBuilder.build(checkpoint, tmp.resolve("e6"),
                limits(0, 100, 200, 300, 32), "cpu", QUIET));
        oneLine("unknown backend", () -> EngineBuilder.build(checkpoint, tmp.resolve("e7"), ok, "tpu", QUIET));
        oneLine("not an empty directory", () -> EngineBuilder.build(checkpoint, tmp, ok, "cpu", QUIET));
        assertFalse(Files.exists(tmp.resolve("e3")), "nothing is written for bad limits");
        java.util.Optional<String> noGpu = dev.tinyrt.backend.cuda.CudaDevice.unavailableReason();
        if (noGpu.isPresent()) {  // without a GPU, --backend cuda says why in one line
            oneLine(noGpu.get(), () -> EngineBuilder.build(checkpoint, tmp.resolve("e9"), ok, "cuda", QUIET));
        }
    }

    @Test
    void anEngineRefusesAnotherBackendOrPrecision() {
        Path engine = tmp.resolve("engine-refuse");
        EngineBuilder.build(checkpoint, engine, limits(4, 64, 128, 128, 32), "cpu", QUIET);
        oneLine("was built for the cpu backend", () -> LoadedModel.open(engine,
                new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0)).close());
        oneLine("fixed at build time", () -> LoadedModel.open(engine,
                new LoadedModel.Options("cpu", StoragePrecision.FP32, 0)).close());
        oneLine("already an engine directory", () -> EngineBuilder.build(engine, tmp.resolve("e8"),
                limits(4, 64, 128, 128, 32), "cpu", QUIET));
    }

    private static void oneLine(String fragment, Executable e) {
        TinyrtException x = assertThrows(TinyrtException.class, e);
        assertTrue(x.getMessage().contains(fragment) && !x.getMessage().contains("\n"),
                "expected one line with \"" + fragment + "\": " + x.getMessage());
    }
}
