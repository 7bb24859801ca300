package dev.tinyrt.scripts;

import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** convert_checkpoint.java as users run it: HF → TensorRT-LLM with a shipped config, back with --to-hf, errors. */
class ConvertCheckpointScriptTest {
    static final Path CONFIGS = ScriptHarness.SCRIPTS.resolveSibling("configs");

    @TempDir
    Path tmp;

    private Path hf() {
        LlamaConfig c = new LlamaConfig(300, 64, 128, 2, 4, 2, 16, 128, 1e-5f, 10000.0, false, "float16", 1,
                List.of(2));
        Path dir = tmp.resolve("hf");
        RandomCheckpoint.write(c, new RandomCheckpoint.Options(1, DType.F16, 0.1, 0.1, LlamaConfig.Spelling.HF5, null),
                dir);
        return dir;
    }

    @Test
    void convertsWithAShippedConfigAndBackToHfUnchanged() throws IOException {
        Path hf = hf();
        Path trt = tmp.resolve("trt");
        ScriptHarness.Result r = ScriptHarness.run("convert_checkpoint.java", "--model", hf.toString(), "--config",
                CONFIGS.resolve("tinyllama_fp16.yaml").toString(), "--out", trt.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("wrote TensorRT-LLM checkpoint " + trt + ": dtype float16, quant_algo null"), r.out());
        assertTrue(TrtllmConfig.isCheckpoint(trt));

        Path back = tmp.resolve("back");
        r = ScriptHarness.run("convert_checkpoint.java", "--model", trt.toString(), "--to-hf", "--out", back.toString());
        assertEquals(0, r.exitCode(), r.err());
        try (SafetensorsFile a = SafetensorsFile.open(hf.resolve("model.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(back.resolve("model.safetensors"))) {
            assertEquals(a.names().size(), b.names().size());
            for (String t : a.names()) {
                assertArrayEquals(a.data(t).toArray(ValueLayout.JAVA_BYTE), b.data(t).toArray(ValueLayout.JAVA_BYTE), t);
            }
        }
    }

    @Test
    void quantizesWithTheInt8Config() {
        Path trt = tmp.resolve("int8");
        ScriptHarness.Result r = ScriptHarness.run("convert_checkpoint.java", "--model", hf().toString(), "--config",
                CONFIGS.resolve("tinyllama_int8.yaml").toString(), "--out", trt.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("W8A16", TrtllmConfig.read(trt).quantization().algo().trtllmName());
    }

    @Test
    void badConfigsAreOneLineUserErrors() throws IOException {
        Path bad = Files.writeString(tmp.resolve("bad.yaml"), "quantization:\n  algorithm: W4A16_AWQ\n  group_size: 48\n");
        ScriptHarness.Result r = ScriptHarness.run("convert_checkpoint.java", "--model", hf().toString(), "--config",
                bad.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(2, r.exitCode());
        assertEquals("error: " + bad + ": quantization.group_size: 48 is not a power of two; allowed: a power of two "
                + "from 16 (TensorRT-LLM's kernels take 64 and 128)", r.err().strip());

        Path noCalib = Files.writeString(tmp.resolve("awq.yaml"), "quantization:\n  algorithm: W4A16_AWQ\n  "
                + "group_size: 32\n");
        r = ScriptHarness.run("convert_checkpoint.java", "--model", hf().toString(), "--config", noCalib.toString(),
                "--out", tmp.resolve("y").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().strip().startsWith("error: " + noCalib + ": quantization.algorithm W4A16_AWQ needs "
                + "calibration data"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
