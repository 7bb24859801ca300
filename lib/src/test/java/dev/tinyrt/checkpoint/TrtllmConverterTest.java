package dev.tinyrt.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.WeightDecoder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HF → TensorRT-LLM conversion of small random checkpoints for every algorithm: tensor names, shapes and dtypes;
 * the stored bytes decoded here, independently of the library's readers, and compared with the original weights
 * against each scheme's quantization bound; the library's {@link TrtllmWeightLayout} agreeing with that decoding;
 * and the byte-exact way back to HF for unquantized checkpoints.
 */
class TrtllmConverterTest {
    /** hidden 64, 4 heads of 16 (2 KV heads), intermediate 128: group size 32 divides every width. */
    static final LlamaConfig SMALL = new LlamaConfig(32000, 64, 128, 2, 4, 2, 16, 256, 1e-5f, 10000.0, true,
            "float16", 1, List.of(2));
    static final int QKV_ROWS = 64 + 2 * 32;

    @TempDir
    static Path shared;
    static Path hfTied;

    @TempDir
    Path tmp;

    @BeforeAll
    static void writeCheckpoint() {
        hfTied = shared.resolve("hf-tied");
        RandomCheckpoint.write(SMALL, new RandomCheckpoint.Options(3, DType.F16, 0.15, 0.2, LlamaConfig.Spelling.HF5,
                ProjectHome.require().resolve("data/tokenizer")), hfTied);
    }

    private Path convert(Path hf, String yaml, String name) throws IOException {
        Path cfg = tmp.resolve(name + ".yaml");
        String calib = "calibration:\n  data: " + ProjectHome.require().resolve("data/calibration/calib.txt")
                + "\n  samples: 3\n  seq_len: 40\n  awq_tokens: 100\n";
        Files.writeString(cfg, yaml + (yaml.contains("calibration") ? "" : calib));
        Path out = tmp.resolve(name);
        TrtllmConverter.convert(hf, BuildConfigLoader.load(cfg), null, out);
        return out;
    }

    /** The weight modules of one layer with their {@code [rows, cols]}. */
    private static Map<String, int[]> modules(int layer) {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put(TrtllmNames.qkv(layer), new int[]{QKV_ROWS, 64});
        m.put(TrtllmNames.dense(layer), new int[]{64, 64});
        m.put(TrtllmNames.fc(layer), new int[]{128, 64});
        m.put(TrtllmNames.gate(layer), new int[]{128, 64});
        m.put(TrtllmNames.proj(layer), new int[]{64, 128});
        return m;
    }

    /** The original HF weight behind a TensorRT-LLM module, as fp32 values {@code [rows, cols]}. */
    private static float[] original(TensorSource hf, String module) {
        int l = Integer.parseInt(module.split("\\.")[2]);
        String p = "model.layers." + l + ".";
        if (module.endsWith("attention.qkv")) {
            float[] q = hf.toFloats(p + "self_attn.q_proj.weight");
            float[] k = hf.toFloats(p + "self_attn.k_proj.weight");
            float[] v = hf.toFloats(p + "self_attn.v_proj.weight");
            float[] all = Arrays.copyOf(q, q.length + k.length + v.length);
            System.arraycopy(k, 0, all, q.length, k.length);
            System.arraycopy(v, 0, all, q.length + k.length, v.length);
            return all;
        }
        String hfName = module.endsWith("attention.dense") ? "self_attn.o_proj" : module.endsWith("mlp.fc")
                ? "mlp.gate_proj" : module.endsWith("mlp.gate") ? "mlp.up_proj" : "mlp.down_proj";
        return hf.toFloats(p + hfName + ".weight");
    }

    private static void assertTensor(TensorSource s, String name, DType dtype, long... shape) {
        assertTrue(s.contains(name), "missing " + name);
        TensorInfo info = s.info(name);
        assertEquals(dtype, info.dtype(), name);
        assertArrayEquals(shape, info.shape(), name);
    }

    private static byte[] bytes(TensorSource s, String name) {
        return s.data(name).toArray(ValueLayout.JAVA_BYTE);
    }

    private static int nibble(byte b, boolean high) {
        int n = high ? (b >> 4) & 0xF : b & 0xF;
        return (n ^ 8) - 8;
    }

    private static JsonNode configJson(Path dir) throws IOException {
        return new ObjectMapper().readTree(dir.resolve("config.json").toFile());
    }

    /** Names of all tensors of a checkpoint that are not per-layer linear/norm tensors. */
    private static void assertCommonTensors(TensorSource s) {
        assertTensor(s, TrtllmNames.EMBEDDING, DType.F16, 32000, 64);
        assertTensor(s, TrtllmNames.FINAL_NORM, DType.F16, 64);
        assertTensor(s, TrtllmNames.LM_HEAD, DType.F16, 32000, 64);
        assertArrayEquals(bytes(s, TrtllmNames.EMBEDDING), bytes(s, TrtllmNames.LM_HEAD), "tied lm_head is a copy");
        for (int l = 0; l < 2; l++) {
            assertTensor(s, TrtllmNames.inputNorm(l), DType.F16, 64);
            assertTensor(s, TrtllmNames.postNorm(l), DType.F16, 64);
        }
    }

    @Test
    void fp16CheckpointHoldsTheHfBytesUnderTensorRtLlmNames() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: none\n", "fp16");
        JsonNode c = configJson(out);
        assertEquals("LlamaForCausalLM", c.get("architecture").asText());
        assertEquals("float16", c.get("dtype").asText());
        assertEquals(16, c.get("head_size").asInt());
        assertEquals("rope_gpt_neox", c.get("position_embedding_type").asText());
        assertEquals(new TreeSet<>(List.of("quant_algo", "kv_cache_quant_algo", "group_size", "smoothquant_val",
                "clamp_val", "use_meta_recipe", "has_zero_point", "pre_quant_scale", "exclude_modules")),
                fieldNames(c.get("quantization")), "exactly TensorRT-LLM's QuantConfig fields");
        assertTrue(c.get("quantization").get("quant_algo").isNull());
        try (TensorSource hf = Checkpoints.open(hfTied); TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
            TensorSource s = ckpt.source();
            assertCommonTensors(s);
            List<String> expected = new ArrayList<>(List.of(TrtllmNames.EMBEDDING, TrtllmNames.FINAL_NORM,
                    TrtllmNames.LM_HEAD));
            for (int l = 0; l < 2; l++) {
                expected.addAll(List.of(TrtllmNames.inputNorm(l), TrtllmNames.postNorm(l)));
                for (var m : modules(l).entrySet()) {
                    assertTensor(s, m.getKey() + ".weight", DType.F16, m.getValue()[0], m.getValue()[1]);
                    expected.add(m.getKey() + ".weight");
                }
            }
            assertEquals(new TreeSet<>(expected), new TreeSet<>(s.names()), "no other tensors");
            TrtllmWeightLayout layout = ckpt.layout();
            for (int l = 0; l < 2; l++) {
                String p = "model.layers." + l + ".";
                byte[] qkv = concat(bytes(hf, p + "self_attn.q_proj.weight"), bytes(hf, p + "self_attn.k_proj.weight"),
                        bytes(hf, p + "self_attn.v_proj.weight"));
                assertEquals(1, layout.qkv(l).size());
                assertArrayEquals(qkv, denseBytes(layout.qkv(l).getFirst()));
                assertArrayEquals(bytes(hf, p + "self_attn.o_proj.weight"), denseBytes(layout.attentionOut(l)));
                assertArrayEquals(bytes(hf, p + "mlp.gate_proj.weight"), denseBytes(layout.gateUp(l).get(0)),
                        "mlp.fc is gate_proj");
                assertArrayEquals(bytes(hf, p + "mlp.up_proj.weight"), denseBytes(layout.gateUp(l).get(1)),
                        "mlp.gate is up_proj");
                assertArrayEquals(bytes(hf, p + "mlp.down_proj.weight"), denseBytes(layout.down(l)));
                assertArrayEquals(bytes(hf, p + "input_layernorm.weight"), denseBytes(layout.inputNorm(l)));
                assertArrayEquals(bytes(hf, p + "post_attention_layernorm.weight"),
                        denseBytes(layout.postAttentionNorm(l)));
            }
            assertArrayEquals(bytes(hf, "model.embed_tokens.weight"), denseBytes(layout.embedding()));
            assertArrayEquals(bytes(hf, "model.norm.weight"), denseBytes(layout.finalNorm()));
            assertNull(layout.lmHead(), "tied: the engine reuses the embedding");
            assertEquals(SMALL, ckpt.config().model());
        }
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")), "tokenizer copied along");
    }

    private static TreeSet<String> fieldNames(JsonNode n) {
        TreeSet<String> names = new TreeSet<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static byte[] denseBytes(WeightData d) {
        return assertInstanceOf(WeightData.Dense.class, d).bytes().toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void unquantizedRoundTripToHfIsByteForByte() throws IOException {
        assertRoundTrip(hfTied, "float16", "tied-f16");
        LlamaConfig untied = new LlamaConfig(301, 48, 80, 2, 6, 2, 10, 128, 1e-5f, 10000.0, false, "bfloat16", 1,
                List.of(2));
        Path bf16 = tmp.resolve("hf-untied-bf16");
        RandomCheckpoint.write(untied, new RandomCheckpoint.Options(5, DType.BF16, 0.15, 0.2, LlamaConfig.Spelling.HF4,
                null), bf16);
        assertRoundTrip(bf16, "bfloat16", "untied-bf16");
    }

    private void assertRoundTrip(Path hf, String dtype, String name) throws IOException {
        Path trt = convert(hf, "dtype: " + dtype + "\n", name);
        Path back = tmp.resolve(name + "-back");
        HfExporter.export(trt, back, false);
        try (SafetensorsFile a = SafetensorsFile.open(hf.resolve("model.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(back.resolve("model.safetensors"))) {
            assertEquals(new TreeSet<>(a.names()), new TreeSet<>(b.names()), name);
            for (String t : a.names()) {
                assertEquals(a.info(t).dtype(), b.info(t).dtype(), t);
                assertArrayEquals(a.info(t).shape(), b.info(t).shape(), t);
                assertArrayEquals(bytes(a, t), bytes(b, t), name + ": " + t);
            }
        }
        assertEquals(LlamaConfig.read(hf.resolve("config.json")), LlamaConfig.read(back.resolve("config.json")));
    }

    @Test
    void aWiderSourceIsRoundedToTheCheckpointDtype() throws IOException {
        Path f32 = tmp.resolve("hf-f32");
        RandomCheckpoint.write(SMALL, new RandomCheckpoint.Options(9, DType.F32, 0.15, 0.2, LlamaConfig.Spelling.HF4,
                null), f32);
        Path trt = convert(f32, "dtype: float16\n", "from-f32");
        try (TensorSource hf = Checkpoints.open(f32); TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(trt)) {
            float[] src = hf.toFloats("model.layers.1.mlp.down_proj.weight");
            assertTensor(ckpt.source(), "transformer.layers.1.mlp.proj.weight", DType.F16, 64, 128);
            float[] got = ckpt.source().toFloats("transformer.layers.1.mlp.proj.weight");
            for (int i = 0; i < src.length; i++) {
                assertEquals(Numerics.f16ToFloat(Numerics.floatToF16(src[i])), got[i]);
            }
        }
    }

    @Test
    void w8a16StoresTransposedInt8WithAmaxOver128() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W8A16\n", "w8a16");
        JsonNode q = configJson(out).get("quantization");
        assertEquals("W8A16", q.get("quant_algo").asText());
        assertEquals("[\"lm_head\",\"transformer.vocab_embedding\"]", q.get("exclude_modules").toString());
        checkLinears(out, (s, module, rows, cols, w) -> {
            assertTensor(s, module + ".weight", DType.I8, cols, rows);
            assertTensor(s, module + ".per_channel_scale", DType.F16, rows);
            byte[] raw = bytes(s, module + ".weight");
            float[] scale = s.toFloats(module + ".per_channel_scale");
            float[] deq = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                float amax = 0;
                for (int c = 0; c < cols; c++) {
                    amax = Math.max(amax, Math.abs(w[r * cols + c]));
                }
                assertEquals(amax / 128, scale[r], 0f, "amax/128 (exact in fp16 for fp16 weights)");
                for (int c = 0; c < cols; c++) {
                    int v = raw[c * rows + r];
                    deq[r * cols + c] = v * scale[r];
                    boolean clipped = v == 127 && w[r * cols + c] > 0;
                    assertWithin(w[r * cols + c], v * scale[r], clipped ? scale[r] : scale[r] / 2, module);
                }
            }
            return deq;
        }, WeightData.Int8PerChannel.class);
    }

    @Test
    void aRearrangedWeightIsFreedOnceDroppedWhileTheLayoutLives() throws Exception {
        Path out = convert(hfTied, "quantization:\n  algorithm: W8A16\n", "w8a16-free");
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
            TrtllmWeightLayout layout = ckpt.layout();  // held, as a loaded model holds it for KV calibration
            var down = assertInstanceOf(WeightData.Int8PerChannel.class, layout.down(1));
            assertTrue(down.weights().isNative() && !down.weights().isMapped(), "transposed back into a copy");
            // an auto arena's memory goes when its scope is unreachable: the layout must not keep it
            WeakReference<MemorySegment.Scope> scope = new WeakReference<>(down.weights().scope());
            down = null;
            for (int i = 0; i < 50 && scope.get() != null; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertNull(scope.get(), "the copy outlived its weight: the layout keeps every rearranged weight");
            Reference.reachabilityFence(layout);
        }
    }

    @Test
    void floatWeightOnlyCheckpointsAreQuantizedOnLoadAsTrtllmBuildDoes() throws IOException {
        Path floats = convert(hfTied, "quantization:\n  algorithm: W8A16\n  float_weights: true\n", "w8a16-float");
        Path ints = convert(hfTied, "quantization:\n  algorithm: W8A16\n", "w8a16-int");
        try (TrtllmCheckpoint f = TrtllmCheckpoint.open(floats); TrtllmCheckpoint i = TrtllmCheckpoint.open(ints)) {
            assertEquals("W8A16", f.config().quantization().algo().trtllmName());
            for (var m : modules(1).entrySet()) {
                assertTensor(f.source(), m.getKey() + ".weight", DType.F16, m.getValue()[0], m.getValue()[1]);
                assertTrue(!f.source().contains(m.getKey() + ".per_channel_scale"), "trtllm-build makes the scales");
            }
            var a = assertInstanceOf(WeightData.Int8PerChannel.class, f.layout().down(1));
            var b = assertInstanceOf(WeightData.Int8PerChannel.class, i.layout().down(1));
            assertArrayEquals(b.weights().toArray(ValueLayout.JAVA_BYTE), a.weights().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(b.scales(), a.scales());
        }
    }

    @Test
    void w4a16PerChannelPacksPairsOfOutputChannelsWithAmaxOver8() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W4A16\n", "w4a16");
        assertEquals("W4A16", configJson(out).get("quantization").get("quant_algo").asText());
        checkLinears(out, (s, module, rows, cols, w) -> {
            assertTensor(s, module + ".weight", DType.I8, cols, rows / 2);
            assertTensor(s, module + ".per_channel_scale", DType.F16, rows);
            byte[] raw = bytes(s, module + ".weight");
            float[] scale = s.toFloats(module + ".per_channel_scale");
            float[] deq = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int v = nibble(raw[c * (rows / 2) + r / 2], r % 2 == 1);
                    deq[r * cols + c] = v * scale[r];
                    boolean clipped = v == 7 && w[r * cols + c] > 0;
                    assertWithin(w[r * cols + c], v * scale[r], clipped ? scale[r] : scale[r] / 2, module);
                }
            }
            return deq;
        }, WeightData.Int4PerGroup.class);
    }

    @Test
    void groupwiseInt4RoundToNearestUsesTheAwqLayoutWithUnitPrescales() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W4A16\n  group_size: 32\n", "w4a16-g32");
        JsonNode q = configJson(out).get("quantization");
        assertEquals("W4A16_AWQ", q.get("quant_algo").asText());
        assertEquals(32, q.get("group_size").asInt());
        assertTrue(q.get("pre_quant_scale").asBoolean());
        checkLinears(out, (s, module, rows, cols, w) -> {
            float[] deq = awqDecode(s, module, rows, cols, 32);
            float[] pre = s.toFloats(module + ".prequant_scaling_factor");
            float[] scales = s.toFloats(module + ".weights_scaling_factor");
            for (int i = 0; i < w.length; i++) {
                assertEquals(1f, pre[i % cols]);
                assertWithin(w[i], deq[i], scales[(i / cols) * (cols / 32) + (i % cols) / 32] / 2, module);
            }
            return deq;
        }, WeightData.Int4PerGroup.class);
    }

    /** Decodes ModelOpt's W4A16_AWQ tensors: int4 pairs of output rows [rows/2, cols], amax/7 scales, prescale. */
    private static float[] awqDecode(TensorSource s, String module, int rows, int cols, int group) {
        assertTensor(s, module + ".weight", DType.I8, rows / 2, cols);
        assertTensor(s, module + ".weights_scaling_factor", DType.F16, rows, cols / group);
        assertTensor(s, module + ".prequant_scaling_factor", DType.F16, cols);
        byte[] raw = bytes(s, module + ".weight");
        float[] scales = s.toFloats(module + ".weights_scaling_factor");
        float[] pre = s.toFloats(module + ".prequant_scaling_factor");
        float[] deq = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int v = nibble(raw[(r / 2) * cols + c], r % 2 == 1);
                deq[r * cols + c] = v * scales[r * (cols / group) + c / group] * pre[c];
            }
        }
        return deq;
    }

    @Test
    void awqWithoutClippingStaysWithinHalfAStepOfTheScaledWeights() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W4A16_AWQ\n  group_size: 32\n  awq_clip: false\n",
                "awq-noclip");
        JsonNode q = configJson(out).get("quantization");
        assertEquals("W4A16_AWQ", q.get("quant_algo").asText());
        assertEquals("tinyrt", configJson(out).get("producer").get("name").asText());
        boolean[] someScaled = {false};
        checkLinears(out, (s, module, rows, cols, w) -> {
            float[] deq = awqDecode(s, module, rows, cols, 32);
            float[] pre = s.toFloats(module + ".prequant_scaling_factor");
            float[] scales = s.toFloats(module + ".weights_scaling_factor");
            for (int i = 0; i < w.length; i++) {
                float p = pre[i % cols];
                someScaled[0] |= p != 1f;
                float step = scales[(i / cols) * (cols / 32) + (i % cols) / 32];
                assertWithin(w[i], deq[i], step / 2 * p, module);
            }
            return deq;
        }, WeightData.Int4PerGroup.class);
        assertTrue(someScaled[0], "AWQ moved some channel scales away from 1");
    }

    @Test
    void awqClippingSaturatesOnlyBeyondTheClippedRange() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W4A16_AWQ\n  group_size: 32\n", "awq");
        int[] clipped = {0};
        checkLinears(out, (s, module, rows, cols, w) -> {
            float[] deq = awqDecode(s, module, rows, cols, 32);
            float[] pre = s.toFloats(module + ".prequant_scaling_factor");
            float[] scales = s.toFloats(module + ".weights_scaling_factor");
            byte[] raw = bytes(s, module + ".weight");
            for (int i = 0; i < w.length; i++) {
                int r = i / cols;
                int c = i % cols;
                float p = pre[c];
                float step = scales[r * (cols / 32) + c / 32];
                if (Math.abs(w[i] - deq[i]) > step / 2 * p * 1.0001f + 1e-7f) {
                    int v = nibble(raw[(r / 2) * cols + c], r % 2 == 1);
                    float scaled = w[i] / p;
                    assertTrue((v == 7 && scaled > 7 * step) || (v == -8 && scaled < -8 * step),
                            module + " element " + i + " is off by more than half a step without being clipped");
                    clipped[0]++;
                }
            }
            return deq;
        }, WeightData.Int4PerGroup.class);
        assertTrue(clipped[0] > 0, "the clip search clipped some outliers");
    }

    @Test
    void smoothQuantStoresInt8WeightsWithPrequantAndActivationScales() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W8A8_SQ_PER_CHANNEL\n  smoothquant_alpha: 0.6\n",
                "sq");
        JsonNode q = configJson(out).get("quantization");
        assertEquals("W8A8_SQ_PER_CHANNEL", q.get("quant_algo").asText());
        assertEquals(0.6, q.get("smoothquant_val").asDouble(), 1e-6);
        checkLinears(out, (s, module, rows, cols, w) -> {
            assertTensor(s, module + ".weight", DType.I8, rows, cols);
            assertTensor(s, module + ".weights_scaling_factor", DType.F32, rows);
            assertTensor(s, module + ".activation_scaling_factor", DType.F32, 1);
            assertTensor(s, module + ".prequant_scaling_factor", DType.F16, cols);
            assertTrue(s.toFloats(module + ".activation_scaling_factor")[0] > 0);
            byte[] raw = bytes(s, module + ".weight");
            float[] scale = s.toFloats(module + ".weights_scaling_factor");
            float[] pre = s.toFloats(module + ".prequant_scaling_factor");
            float[] deq = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                float p = pre[i % cols];
                deq[i] = raw[i] * scale[i / cols] * p;
                assertWithin(w[i], deq[i], scale[i / cols] / 2 * p, module);
            }
            return deq;
        }, WeightData.Int8W8A8.class);
        // gate and up read one input and run as one GEMM that quantizes it once: one pre-scale, from both weights
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
            for (int l = 0; l < 2; l++) {
                float[] fc = ckpt.source().toFloats(TrtllmNames.fc(l) + ".prequant_scaling_factor");
                float[] gate = ckpt.source().toFloats(TrtllmNames.gate(l) + ".prequant_scaling_factor");
                assertArrayEquals(fc, gate, "layer " + l + ": gate and up share the SmoothQuant pre-scale");
                float[] qkv = ckpt.source().toFloats(TrtllmNames.qkv(l) + ".prequant_scaling_factor");
                assertFalse(java.util.Arrays.equals(fc, qkv), "other inputs keep their own pre-scale");
            }
        }
    }

    @Test
    void fp8StoresE4m3WeightsWithPerTensorScalesAndAnFp8KvCache() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: FP8\n  kv_cache: fp8\n", "fp8");
        JsonNode q = configJson(out).get("quantization");
        assertEquals("FP8", q.get("quant_algo").asText());
        assertEquals("FP8", q.get("kv_cache_quant_algo").asText());
        checkLinears(out, (s, module, rows, cols, w) -> {
            assertTensor(s, module + ".weight", DType.F8_E4M3, rows, cols);
            assertTensor(s, module + ".weights_scaling_factor", DType.F32, 1);
            assertTensor(s, module + ".activation_scaling_factor", DType.F32, 1);
            float scale = s.toFloats(module + ".weights_scaling_factor")[0];
            float amax = 0;
            for (float v : w) {
                amax = Math.max(amax, Math.abs(v));
            }
            assertEquals(amax / 448f, scale);
            byte[] raw = bytes(s, module + ".weight");
            float[] deq = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                deq[i] = Numerics.e4m3ToFloat(raw[i]) * scale;
                assertWithin(w[i], deq[i], Math.max(Math.abs(w[i]) / 16, scale * 0x1p-10f), module);
            }
            return deq;
        }, WeightData.Fp8PerTensor.class);
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
            for (int l = 0; l < 2; l++) {
                assertTensor(ckpt.source(), TrtllmNames.kvCacheScale(l), DType.F32, 1);
                assertTrue(ckpt.layout().kvCacheScale(l) >= 1f, "FP8 KV scales are at least 1 (ModelOpt)");
            }
        }
    }

    @Test
    void int8KvCacheScalesAreWrittenPerLayer() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W8A16\n  kv_cache: int8\n", "w8a16-kv8");
        assertEquals("INT8", configJson(out).get("quantization").get("kv_cache_quant_algo").asText());
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
            for (int l = 0; l < 2; l++) {
                assertTensor(ckpt.source(), TrtllmNames.kvCacheScale(l), DType.F32, 1);
                float s = ckpt.layout().kvCacheScale(l);
                assertTrue(s > 0 && s < 1, "amax/127 of a small random model: " + s);
            }
        }
    }

    interface LinearCheck {
        /** Checks one module's stored tensors against the original weights; returns the effective weights. */
        float[] check(TensorSource s, String module, int rows, int cols, float[] original);
    }

    /**
     * Runs {@code check} on every linear module, then asserts the library's reader returns the expected canonical
     * form whose effective weights equal the test's own decoding.
     */
    private static void checkLinears(Path out, LinearCheck check, Class<? extends WeightData> form) {
        try (TensorSource hf = Checkpoints.open(hfTied); TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
            assertCommonTensors(ckpt.source());
            TrtllmWeightLayout layout = ckpt.layout();
            for (int l = 0; l < 2; l++) {
                List<WeightData> read = List.of(layout.qkv(l).getFirst(), layout.attentionOut(l),
                        layout.gateUp(l).get(0), layout.gateUp(l).get(1), layout.down(l));
                int i = 0;
                for (var m : modules(l).entrySet()) {
                    int rows = m.getValue()[0];
                    int cols = m.getValue()[1];
                    float[] expected = check.check(ckpt.source(), m.getKey(), rows, cols, original(hf, m.getKey()));
                    WeightData data = read.get(i++);
                    assertInstanceOf(form, data, m.getKey());
                    assertEquals(rows, data.rows());
                    assertEquals(cols, data.cols());
                    assertArrayEquals(expected, WeightDecoder.effective(data), 1e-6f * max(expected),
                            m.getKey() + ": the reader agrees with the stored bytes");
                }
            }
            assertInstanceOf(WeightData.Dense.class, layout.embedding());
            assertNull(layout.lmHead());
        }
    }

    private static float max(float[] v) {
        float m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static void assertWithin(float original, float dequantized, float bound, String what) {
        float err = Math.abs(original - dequantized);
        assertTrue(err <= bound * 1.0001f + 1e-7f, what + ": |" + original + " - " + dequantized + "| = " + err
                + " > " + bound);
    }

    @Test
    void quantizedCheckpointsGoBackToHfOnlyWhenDequantizing() throws IOException {
        Path out = convert(hfTied, "quantization:\n  algorithm: W8A16\n", "w8a16-back");
        String msg = assertThrows(TinyrtException.class, () -> HfExporter.export(out, tmp.resolve("no"), false))
                .getMessage();
        assertEquals(out + " is quantized (quant_algo W8A16); a HF checkpoint holds plain weights: pass --dequantize "
                + "to write the dequantized weights in float16", msg);
        Path back = tmp.resolve("w8a16-hf");
        HfExporter.export(out, back, true);
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out); TensorSource hf = Checkpoints.open(back)) {
            float[] down = WeightDecoder.effective(ckpt.layout().down(1));
            float[] got = hf.toFloats("model.layers.1.mlp.down_proj.weight");
            for (int i = 0; i < got.length; i++) {
                assertEquals(Numerics.f16ToFloat(Numerics.floatToF16(down[i])), got[i]);
            }
            float[] qkv = WeightDecoder.effective(ckpt.layout().qkv(0).getFirst());
            float[] v = hf.toFloats("model.layers.0.self_attn.v_proj.weight");
            int vStart = (64 + 32) * 64;
            for (int i = 0; i < v.length; i++) {
                assertEquals(Numerics.f16ToFloat(Numerics.floatToF16(qkv[vStart + i])), v[i]);
            }
        }
    }

    @Test
    void calibrationNeedsEnoughLongPassages() throws IOException {
        Path cfg = tmp.resolve("big.yaml");
        Files.writeString(cfg, "quantization:\n  algorithm: FP8\ncalibration:\n  data: "
                + ProjectHome.require().resolve("data/calibration/calib.txt") + "\n  samples: 1000\n  seq_len: 40\n");
        String msg = assertThrows(TinyrtException.class,
                () -> TrtllmConverter.convert(hfTied, BuildConfigLoader.load(cfg), null, tmp.resolve("x"))).getMessage();
        assertTrue(msg.contains("has only 150 of its 150 passages with at least 40 tokens, but 1000 samples were asked"
                + " for"), msg);
        Files.writeString(cfg, "quantization:\n  algorithm: FP8\ncalibration:\n  data: "
                + ProjectHome.require().resolve("data/calibration/calib.txt") + "\n  seq_len: 512\n");
        msg = assertThrows(TinyrtException.class,
                () -> TrtllmConverter.convert(hfTied, BuildConfigLoader.load(cfg), null, tmp.resolve("x"))).getMessage();
        assertEquals(cfg + ": calibration.seq_len: 512 exceeds the model's max_position_embeddings 256; allowed: "
                + "2..256", msg);
    }
}
