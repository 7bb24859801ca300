package dev.tinyrt.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.quant.DequantizedLayout;
import dev.tinyrt.quant.LogitDivergence;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.Generator;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
import dev.tinyrt.scripts.ScriptHarness;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled tinyrt-12m converted with every quantization algorithm and run directly from the TensorRT-LLM
 * checkpoint directory by the CPU engine: logits equal, bit for bit, those of the same model whose quantized
 * matmuls are computed by the scalar emulation ({@link ReferenceQuantBackend}); weight-only formats also match
 * the plain engine on dequantized weights; decoding token by token gives the prefill's logits; and
 * inference_engine.java generates the emulation's greedy tokens. Checkpoints are converted once (calibration on a
 * few short samples, to keep the test fast).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuantizedEngineTest {
    private static final String CALIBRATION = "calibration:\n  data: data/calibration/calib.txt\n  samples: 4\n"
            + "  seq_len: 64\n  awq_tokens: 256\n";
    /** Build configs by name; the calibrated ones use the shipped algorithms with a small calibration set. */
    private static final Map<String, String> CONFIGS = new LinkedHashMap<>();

    static {
        CONFIGS.put("W8A16", "quantization:\n  algorithm: W8A16\n");
        CONFIGS.put("W4A16", "quantization:\n  algorithm: W4A16\n");
        CONFIGS.put("W4A16-g128", "quantization:\n  algorithm: W4A16\n  group_size: 128\n");
        CONFIGS.put("AWQ", "quantization:\n  algorithm: W4A16_AWQ\n  group_size: 128\n  awq_grid: 4\n" + CALIBRATION);
        CONFIGS.put("W8A8-SQ", "quantization:\n  algorithm: W8A8_SQ_PER_CHANNEL\n" + CALIBRATION);
        CONFIGS.put("FP8", "quantization:\n  algorithm: FP8\n  kv_cache: fp8\n" + CALIBRATION);
    }

    private final Map<String, Path> checkpoints = new LinkedHashMap<>();
    private Path work;
    private int[] prompt;

    @BeforeAll
    void convertOnce() throws IOException {
        Path home = ProjectHome.require();
        Path hf = home.resolve("data/models/tinyrt-12m");
        work = Files.createTempDirectory("tinyrt-qengine-");
        for (var e : CONFIGS.entrySet()) {
            Path yaml = work.resolve(e.getKey() + ".yaml");
            Files.writeString(yaml, e.getValue());
            Path out = work.resolve(e.getKey());
            TrtllmConverter.convert(hf, BuildConfigLoader.load(yaml), null, out);
            checkpoints.put(e.getKey(), out);
        }
        try (LlamaTokenizer tok = LlamaTokenizer.load(hf)) {
            prompt = tok.encode("It is a truth universally acknowledged, that a single man in possession of a good "
                    + "fortune, must be in want of a wife.");
        }
    }

    @AfterAll
    void cleanUp() throws IOException {
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static LlamaModel load(TrtllmCheckpoint c, dev.tinyrt.backend.Backend backend) {
        return LlamaModel.load(c.config().model(), c.layout(), backend, StoragePrecision.AUTO);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"W8A16", "W4A16", "W4A16-g128", "AWQ", "W8A8-SQ", "FP8"})
    void logitsEqualTheScalarEmulationBitForBit(String name) {
        Path dir = checkpoints.get(name);
        float[][] engine;
        // fp32 KV as the emulation keeps it (the FP8 checkpoint asks for an fp8 KV cache): this test is about weights
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, 2,
                KvCacheDtype.FP32))) {
            engine = m.model().promptLogits(prompt);
        }
        try (TrtllmCheckpoint c = TrtllmCheckpoint.open(dir); ReferenceQuantBackend ref = new ReferenceQuantBackend(1);
             LlamaModel model = load(c, ref)) {
            float[][] expected = model.promptLogits(prompt);
            for (int t = 0; t < prompt.length; t++) {
                assertArrayEquals(expected[t], engine[t], name + ", position " + t);
            }
        }
    }

    /**
     * Weight-only formats against the plain engine on dequantized weights (pre-scales folded into them): the same
     * arithmetic, so identical without pre-scales; with AWQ's pre-scale applied to x instead, within fp32 rounding.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"W8A16", "W4A16", "W4A16-g128", "AWQ"})
    void weightOnlyFormatsMatchTheDequantizedEngine(String name) {
        try (TrtllmCheckpoint c = TrtllmCheckpoint.open(checkpoints.get(name));
             CpuBackend cpu = new CpuBackend(2);
             LlamaModel quantized = load(c, cpu);
             LlamaModel dequantized = LlamaModel.load(c.config().model(), new DequantizedLayout(c.layout()), cpu,
                     StoragePrecision.AUTO)) {
            float[][] expected = dequantized.promptLogits(prompt);
            float[][] actual = quantized.promptLogits(prompt);
            double worst = relativeError(expected, actual);
            if (name.equals("AWQ")) {
                assertTrue(worst > 0 && worst <= 1e-4, "relative error " + worst);
            } else {
                assertEquals(0.0, worst, name + ": same values, same accumulation order");
            }
        }
    }

    /**
     * Quantized activations change the logits, but only as much as int8 or e4m3 rounding should (mean KL of the
     * next-token distributions well below 0.02 nats): a wrong scale convention shared by kernel and emulation would
     * not pass this.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"W8A8-SQ", "FP8"})
    void quantizedActivationsStayCloseToTheDequantizedEngine(String name) {
        try (TrtllmCheckpoint c = TrtllmCheckpoint.open(checkpoints.get(name));
             CpuBackend cpu = new CpuBackend(2);
             LlamaModel quantized = load(c, cpu);
             LlamaModel dequantized = LlamaModel.load(c.config().model(), new DequantizedLayout(c.layout()), cpu,
                     StoragePrecision.AUTO)) {
            float[][] expected = dequantized.promptLogits(prompt);
            float[][] actual = quantized.promptLogits(prompt);
            double worst = relativeError(expected, actual);
            double kl = LogitDivergence.meanKl(logProbs(expected), logProbs(actual));
            // measured: W8A8-SQ 0.027 of the largest |logit|, KL 0.0011 nats; FP8 0.085, KL 0.0047
            assertTrue(worst > 1e-4 && worst < 0.2, name + ": relative error " + worst);
            assertTrue(kl < 0.02, name + ": mean KL " + kl);
        }
    }

    /** Batch invariance with quantized weights and activations: one token at a time gives the prefill's bits. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"W8A16", "AWQ", "W8A8-SQ", "FP8"})
    void decodingTokenByTokenGivesThePrefillLogits(String name) {
        try (LoadedModel m = LoadedModel.open(checkpoints.get(name), new LoadedModel.Options("cpu",
                StoragePrecision.AUTO, 2))) {
            LlamaConfig config = m.config();
            int[] ids = new int[40];
            Random r = new Random(5);
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(config.vocabSize());
            }
            float[][] full = m.model().promptLogits(ids);
            int[] table = {3, 0, 2};
            try (KvCache cache = m.model().kvCache(4, 16)) {  // the checkpoint's KV type (fp8 for FP8)
                // a 5-token prefill (the 4x4 tiles and a leftover token), then single tokens (decode path)
                m.model().forward(new StepBatch(java.util.Arrays.copyOf(ids, 5), new int[]{0, 1, 2, 3, 4},
                        List.of(new StepBatch.Chunk(0, 5, 5, table)), new int[0]), cache);
                for (int i = 5; i < ids.length; i++) {
                    float[][] one = m.model().forward(new StepBatch(new int[]{ids[i]}, new int[]{i},
                            List.of(new StepBatch.Chunk(0, 1, i + 1, table)), new int[]{0}), cache);
                    assertArrayEquals(full[i], one[0], name + ", position " + i);
                }
            }
        }
    }

    /** inference_engine.java, given the TensorRT-LLM directory as --model, generates the emulation's tokens. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"W8A16", "W4A16-g128", "AWQ", "W8A8-SQ", "FP8"})
    void inferenceScriptGeneratesTheEmulationsGreedyTokens(String name) throws IOException {
        Path dir = checkpoints.get(name);
        Path json = work.resolve(name + "-out.json");
        String text = "It is a truth universally acknowledged";
        ScriptHarness.Result run = ScriptHarness.run("inference_engine.java", "--model", dir.toString(), "--prompt",
                text, "--max-new-tokens", "16", "--greedy", "--ignore-eos", "--threads", "2", "--output-json",
                json.toString(), "--kv-cache-dtype", "fp32");  // the emulation keeps fp32 KV
        assertEquals(0, run.exitCode(), run.err());
        JsonNode out = new ObjectMapper().readTree(json.toFile());
        int[] scriptIds = new int[out.get("output_ids").size()];
        for (int i = 0; i < scriptIds.length; i++) {
            scriptIds[i] = out.get("output_ids").get(i).asInt();
        }
        try (TrtllmCheckpoint c = TrtllmCheckpoint.open(dir); ReferenceQuantBackend ref = new ReferenceQuantBackend(1);
             LlamaModel model = load(c, ref); LlamaTokenizer tok = LlamaTokenizer.load(dir)) {
            GenerationResult expected = new Generator(model, tok, List.of(2)).generate(tok.encode(text),
                    SamplingParams.greedy(16).withIgnoreEos(true), TokenListener.NONE);
            assertEquals(16, scriptIds.length);
            assertArrayEquals(expected.outputIds(), scriptIds, name);
            assertEquals(expected.text(), out.get("text").asText());
        }
    }

    /** Largest |expected - actual| over positions, relative to each position's largest |logit|. */
    private static double relativeError(float[][] expected, float[][] actual) {
        double worst = 0;
        for (int t = 0; t < expected.length; t++) {
            double max = 0;
            double err = 0;
            for (int v = 0; v < expected[t].length; v++) {
                max = Math.max(max, Math.abs(expected[t][v]));
                err = Math.max(err, Math.abs(expected[t][v] - actual[t][v]));
            }
            worst = Math.max(worst, err / max);
        }
        return worst;
    }

    /** Log-softmax of each row. */
    private static double[][] logProbs(float[][] logits) {
        double[][] lp = new double[logits.length][];
        for (int t = 0; t < logits.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (float v : logits[t]) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : logits[t]) {
                sum += Math.exp(v - max);
            }
            double log = max + Math.log(sum);
            lp[t] = new double[logits[t].length];
            for (int i = 0; i < lp[t].length; i++) {
                lp[t][i] = logits[t][i] - log;
            }
        }
        return lp;
    }
}
