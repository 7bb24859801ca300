package dev.tinyrt.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * environment/hf_baseline.py's whole report, produced over a numpy test double of torch/transformers
 * (src/test/resources/fake_hf), must be read by the strict Java reader: the two sides share one schema.
 */
class HfBaselineFakeTest {
    static final Path FAKE = Path.of("src", "test", "resources", "fake_hf").toAbsolutePath();
    static final Path SCRIPT = Path.of("..", "environment", "hf_baseline.py").toAbsolutePath().normalize();

    @TempDir Path tmp;

    /** Runs hf_baseline.py with the test double first on the path; returns stdout and stderr together. */
    static String runWithFake(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("python3", SCRIPT.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", FAKE.toString());
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p;
        try {
            p = pb.start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "python3 is not installed");
            throw e;
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assumeTrue(!log.contains("No module named 'numpy'"), "the test double needs numpy");
        assertEquals(0, p.exitValue(), log);
        return log;
    }

    @Test
    void smokeReportIsReadByTheStrictJavaReader() throws Exception {
        Path out = tmp.resolve("smoke.json");
        String log = runWithFake("smoke", "--device", "cpu", "--out", out.toString());
        assertTrue(log.contains("smoke: OK"), log);

        BenchmarkReport r = BenchmarkJson.read(out);
        assertEquals(List.of("hf"), r.systems().stream().map(SystemInfo::name).toList());
        assertEquals("0.0-fake", r.software().path("transformers").asText());
        assertEquals(List.of(1, 2), r.results().stream().map(PointResult::batchSize).toList());
        for (PointResult point : r.results()) {
            assertEquals("static", point.batching());
            assertEquals(2, point.repeats().size());
            assertEquals(List.of(6, 7, 8, 9), point.repeats().getFirst().requests().stream()
                    .map(RequestTiming::outputTokens).sorted().toList());
            assertTrue(point.summary().systemOutputThroughputTokS().median() > 0);
            assertTrue(point.memory().peakRssBytes() > 0);
        }
    }

    @Test
    void onePromptStreamsItsTokensAndReportsTimingAndMemory() throws Exception {
        Path model = java.nio.file.Files.createDirectories(tmp.resolve("m"));
        java.nio.file.Files.writeString(model.resolve("config.json"), "{\"vocab_size\": 300, \"hidden_size\": 32, "
                + "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"max_position_embeddings\": 64}");
        String log = runWithFake("generate", "--model", model.toString(), "--prompt", "Hi", "--max-new-tokens", "4",
                "--stream");
        // the test double's tokenizer spells token ids as letters; four new tokens, the prompt skipped
        assertTrue(log.matches("(?s)[a-z]{4}\n\\[HF transformers 0\\.0-fake, eager, float32 on cpu: 3 prompt \\+ 4 new "
                + "tokens, load [0-9.]+ s, TTFT [0-9.]+ ms, decode [0-9.]+ tok/s, peak RSS [0-9]+ MiB]\n"), log);
    }
}
