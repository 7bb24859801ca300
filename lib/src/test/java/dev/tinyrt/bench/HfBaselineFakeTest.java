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

    @Test
    void smokeReportIsReadByTheStrictJavaReader() throws Exception {
        Path out = tmp.resolve("smoke.json");
        ProcessBuilder pb = new ProcessBuilder("python3", SCRIPT.toString(), "smoke", "--device", "cpu", "--out",
                out.toString()).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", FAKE.toString());
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p;
        try {
            p = pb.start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "python3 is not installed");
            return;
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assumeTrue(!log.contains("No module named 'numpy'"), "the test double needs numpy");
        assertEquals(0, p.exitValue(), log);
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
}
