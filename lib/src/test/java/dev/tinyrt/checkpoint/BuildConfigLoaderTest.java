package dev.tinyrt.checkpoint;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.QuantAlgo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BuildConfigLoaderTest {
    static final Path CONFIGS = Path.of("..", "configs").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private Path yaml(String text) throws IOException {
        Path p = tmp.resolve("x.yaml");
        Files.writeString(p, text);
        return p;
    }

    private String error(String text) throws IOException {
        Path p = yaml(text);
        String msg = assertThrows(TinyrtException.class, () -> BuildConfigLoader.load(p)).getMessage();
        assertTrue(msg.startsWith(p + ": "), "message names the file: " + msg);
        return msg.substring(p.toString().length() + 2);
    }

    @Test
    void theShippedConfigsLoad() {
        record Expect(String file, QuantAlgo algo, int group, KvCacheQuant kv) {
        }
        for (Expect e : List.of(new Expect("tinyllama_fp16.yaml", QuantAlgo.NONE, 0, KvCacheQuant.NONE),
                new Expect("tinyllama_int8.yaml", QuantAlgo.W8A16, 0, KvCacheQuant.NONE),
                new Expect("tinyllama_int4.yaml", QuantAlgo.W4A16, 128, KvCacheQuant.NONE),
                new Expect("tinyllama_int4_awq.yaml", QuantAlgo.W4A16_AWQ, 128, KvCacheQuant.NONE),
                new Expect("tinyllama_w8a8_sq.yaml", QuantAlgo.W8A8_SQ_PER_CHANNEL, 0, KvCacheQuant.NONE),
                new Expect("tinyllama_fp8.yaml", QuantAlgo.FP8, 0, KvCacheQuant.FP8))) {
            BuildConfig c = BuildConfigLoader.load(CONFIGS.resolve(e.file));
            assertEquals("float16", c.dtype(), e.file);
            assertEquals(e.algo, c.quantization().algorithm(), e.file);
            assertEquals(e.group, c.quantization().groupSize(), e.file);
            assertEquals(e.kv, c.quantization().kvCache(), e.file);
            assertEquals(new BuildConfig.BuildLimits(64, 1024, 2048, 8192, 32), c.build(), e.file);
            if (c.quantization().needsCalibration()) {
                assertEquals(128, c.calibration().samples());
                assertEquals(512, c.calibration().seqLen());
                assertTrue(Files.isRegularFile(c.requireCalibrationData(null)), e.file);
            }
            c.checkAgainst(dev.tinyrt.checkpoint.RandomCheckpoint.preset("tinyllama-1.1b"));
        }
    }

    @Test
    void defaultsApplyToAnEmptySection() throws IOException {
        BuildConfig c = BuildConfigLoader.load(yaml("quantization:\n  algorithm: W4A16_AWQ\n"));
        assertEquals(128, c.quantization().groupSize());
        assertEquals(20, c.quantization().awqGrid());
        assertEquals(128, c.calibration().samples());
        assertEquals(512, c.calibration().seqLen());
        assertEquals(new BuildConfig.BuildLimits(8, 1024, 2048, 8192, 32), c.build());
    }

    @Test
    void unknownKeysNameTheKeyAndTheAllowedOnes() throws IOException {
        assertEquals("unknown key \"quantization.grup_size\"; allowed keys in quantization: algorithm, group_size, "
                        + "kv_cache, smoothquant_alpha, awq_grid, awq_clip, float_weights",
                error("quantization:\n  grup_size: 128\n"));
        assertEquals("unknown key \"model\"; allowed keys at the top level: description, dtype, quantization, "
                + "calibration, build", error("model: x\n"));
    }

    @Test
    void wrongTypesAndValuesNameKeyValueAndAllowed() throws IOException {
        assertEquals("build.max_batch_size: \"eight\" must be an integer; allowed: an integer in 1..1048576",
                error("build:\n  max_batch_size: eight\n"));
        assertEquals("build.max_batch_size: 0 is out of range; allowed: an integer in 1..1048576",
                error("build:\n  max_batch_size: 0\n"));
        assertEquals("dtype: \"fp16\" is not supported; allowed: float16, bfloat16, float32", error("dtype: fp16\n"));
        assertEquals("quantization: \"W8A16\" must be a mapping; allowed: keys algorithm, group_size, kv_cache, "
                + "smoothquant_alpha, awq_grid, awq_clip, float_weights", error("quantization: W8A16\n"));
        assertEquals("quantization.smoothquant_alpha: 1.5 is out of range; allowed: a number in 0.0..1.0",
                error("quantization:\n  algorithm: W8A8_SQ_PER_CHANNEL\n  smoothquant_alpha: 1.5\n"));
        assertEquals("build.tokens_per_block: 48 is not a power of two; allowed: a power of two such as 16, 32 or 64",
                error("build:\n  tokens_per_block: 48\n"));
        assertEquals("build.max_input_len: 4096 exceeds build.max_seq_len 2048; allowed: 1..2048",
                error("build:\n  max_input_len: 4096\n"));
    }

    @Test
    void unsupportedAlgorithmsAreListed() throws IOException {
        assertEquals("quantization.algorithm: \"W3A16\" is not supported; allowed: none, W8A16, W4A16, W4A16_AWQ, "
                + "W8A8_SQ_PER_CHANNEL, FP8", error("quantization:\n  algorithm: W3A16\n"));
        assertEquals("quantization.kv_cache: \"int4\" is not supported; allowed: none, int8, fp8",
                error("quantization:\n  kv_cache: int4\n"));
        assertEquals("quantization.float_weights applies to per-channel W4A16 only; allowed: remove group_size, or "
                + "float_weights: false (group-wise INT4 is stored as int4)",
                error("quantization:\n  algorithm: W4A16\n  group_size: 64\n  float_weights: true\n"));
        assertEquals("quantization.awq_clip: \"yes please\" must be true or false; allowed: true, false",
                error("quantization:\n  algorithm: W4A16_AWQ\n  awq_clip: yes please\n"));
        assertEquals("quantization.group_size does not apply to quantization.algorithm W8A16; allowed only with W4A16 "
                + "or W4A16_AWQ (remove the key or change the algorithm)",
                error("quantization:\n  algorithm: W8A16\n  group_size: 128\n"));
    }

    @Test
    void groupSizeMustDivideEveryLayerWidth() throws IOException {
        assertEquals("quantization.group_size: 96 is not a power of two; allowed: a power of two from 16 "
                + "(TensorRT-LLM's kernels take 64 and 128)", error("quantization:\n  algorithm: W4A16\n  group_size: 96\n"));
        BuildConfig c = BuildConfigLoader.load(yaml("quantization:\n  algorithm: W4A16_AWQ\n  group_size: 256\n"));
        LlamaConfig model = new LlamaConfig(32000, 256, 640, 6, 8, 4, 32, 1024, 1e-5f, 1e4, true, "float16", 1,
                List.of(2));
        String msg = assertThrows(TinyrtException.class, () -> c.checkAgainst(model)).getMessage();
        assertEquals(c.source() + ": quantization.group_size: 256 does not divide the layer width 640 "
                + "(intermediate_size); allowed: a common divisor of 256, 256 and 640, such as 128", msg);
    }

    @Test
    void calibrationDataIsRequiredForCalibratedAlgorithms() throws IOException {
        BuildConfig awq = BuildConfigLoader.load(yaml("quantization:\n  algorithm: W4A16_AWQ\n"));
        assertEquals(awq.source() + ": quantization.algorithm W4A16_AWQ needs calibration data, but calibration.data "
                        + "is not set; allowed: a text file such as data/calibration/calib.txt (or pass --calib-data FILE)",
                assertThrows(TinyrtException.class, () -> awq.requireCalibrationData(null)).getMessage());
        BuildConfig kv = BuildConfigLoader.load(yaml("quantization:\n  kv_cache: int8\ncalibration:\n"
                + "  data: /nonexistent/calib.txt\n"));
        assertEquals(kv.source() + ": calibration.data: \"/nonexistent/calib.txt\" not found (looked at "
                        + "/nonexistent/calib.txt); allowed: an existing text file, relative paths resolve against the "
                        + "project root",
                assertThrows(TinyrtException.class, () -> kv.requireCalibrationData(null)).getMessage());
        Path given = Files.writeString(tmp.resolve("c.txt"), "text");
        assertEquals(given, awq.requireCalibrationData(given), "--calib-data wins");
    }

    @Test
    void malformedYamlAndDuplicateKeysAreUserErrors() throws IOException {
        assertTrue(error("quantization: [\n").startsWith("not valid YAML: "));
        assertTrue(error("dtype: float16\ndtype: float32\n").contains("Duplicate field 'dtype'"));
    }
}
