package dev.tinyrt.scripts;

import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** build_engine.java and inference_engine.java --engine as users run them, on the CPU. */
class BuildEngineScriptTest {
    @TempDir
    Path tmp;

    @Test
    void buildsAnEngineThatGeneratesWhatTheCheckpointGenerates() throws Exception {
        LlamaConfig c = new LlamaConfig(300, 64, 128, 2, 4, 2, 16, 256, 1e-5f, 10000.0, false, "float16", 1,
                List.of(2));
        Path hf = tmp.resolve("hf");
        RandomCheckpoint.write(c, new RandomCheckpoint.Options(1, DType.F16, 0.3, 0.1, LlamaConfig.Spelling.HF4, null),
                hf);
        Path ckpt = tmp.resolve("ckpt");
        ScriptHarness.Result r = ScriptHarness.run("convert_checkpoint.java", "--model", hf.toString(), "--config",
                ConvertCheckpointScriptTest.CONFIGS.resolve("tinyllama_fp16.yaml").toString(), "--out", ckpt.toString());
        assertEquals(0, r.exitCode(), r.err());
        Path engine = tmp.resolve("engine");
        r = ScriptHarness.run("build_engine.java", "--checkpoint", ckpt.toString(), "--out", engine.toString(),
                "--backend", "cpu", "--max-batch-size", "4", "--max-input-len", "64", "--max-num-tokens", "128");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("backend cpu") && r.out().contains("0 tactics (not timed"), r.out());
        String config = Files.readString(engine.resolve("config.json"));
        assertTrue(config.contains("\"max_seq_len\" : 256"), "max_seq_len defaults to the context: " + config);

        String[] gen = {"--prompt-ids", "1,5,9,200", "--max-new-tokens", "10", "--ignore-eos", "--temperature", "0.9",
                "--seed", "3"};
        ScriptHarness.Result fromCkpt = ScriptHarness.run("inference_engine.java", concat(new String[]{"--model",
                ckpt.toString()}, gen));
        ScriptHarness.Result fromEngine = ScriptHarness.run("inference_engine.java", concat(new String[]{"--engine",
                engine.toString()}, gen));
        assertEquals(0, fromEngine.exitCode(), fromEngine.err());
        assertEquals(fromCkpt.out(), fromEngine.out());
        assertTrue(fromEngine.out().startsWith("["), fromEngine.out());

        userError("not found", "build_engine.java", "--checkpoint", tmp.resolve("nope").toString(), "--out",
                tmp.resolve("x").toString());
        userError("--max-seq-len 9999 is out of range", "build_engine.java", "--checkpoint", ckpt.toString(), "--out",
                tmp.resolve("y").toString(), "--backend", "cpu", "--max-seq-len", "9999");
        userError("not a TensorRT-LLM checkpoint", "build_engine.java", "--checkpoint", hf.toString(), "--out",
                tmp.resolve("z").toString());
        userError("not an engine directory", "inference_engine.java", "--engine", ckpt.toString(), "--prompt-ids", "1");
        userError("was built for the cpu backend", "inference_engine.java", "--engine", engine.toString(),
                "--backend", "cuda", "--prompt-ids", "1");
    }

    private static void userError(String fragment, String script, String... args) {
        ScriptHarness.Result r = ScriptHarness.run(script, args);
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains(fragment) && r.err().strip().lines().count() == 1, r.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
