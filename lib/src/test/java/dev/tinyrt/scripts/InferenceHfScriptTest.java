package dev.tinyrt.scripts;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jbang-scripts/inference_hf.java: user errors, and a run through the numpy test double of transformers. */
class InferenceHfScriptTest {
    @TempDir Path tmp;

    @Test
    void missingTorchOrBadInputIsOneClearLine() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(model.resolve("config.json"), "{}");
        ScriptHarness.Result r = ScriptHarness.run("inference_hf.java", "--model", model.toString(), "--prompt", "hi",
                "--python", tmp.resolve("no-python").toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().startsWith("error: inference_hf.java needs " + tmp.resolve("no-python")
                + " with torch and transformers"), r.err());
        assertTrue(r.err().contains("pip install torch transformers"), r.err());
        r = ScriptHarness.run("inference_hf.java", "--model", model.toString(), "--prompt", "");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("empty prompt"), r.err());
        r = ScriptHarness.run("inference_hf.java", "--model", tmp.resolve("none").toString(), "--prompt", "x");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("model directory not found"), r.err());
    }

    @Test
    void runsThroughAnInterpreterThatHasTransformers() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                new ProcessBuilder("python3", "-c", "import numpy").start().waitFor() == 0, "the test double needs numpy");
        Path fake = Path.of("src", "test", "resources", "fake_hf").toAbsolutePath();
        Path python = tmp.resolve("python-with-fake-hf");
        Files.writeString(python, "#!/bin/sh\nPYTHONPATH='" + fake + "' PYTHONDONTWRITEBYTECODE=1 exec python3 \"$@\"\n");
        assertTrue(python.toFile().setExecutable(true));
        Path model = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(model.resolve("config.json"), "{\"vocab_size\": 300, \"hidden_size\": 32, "
                + "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"max_position_embeddings\": 64}");
        ScriptHarness.Result r = ScriptHarness.run("inference_hf.java", "--model", model.toString(), "--prompt", "Hi",
                "--max-new-tokens", "3", "--device", "cpu", "--python", python.toString());
        assertEquals(0, r.exitCode(), r.err());
    }
}
