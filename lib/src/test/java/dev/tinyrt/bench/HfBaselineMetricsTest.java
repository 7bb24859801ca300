package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * environment/hf_baseline.py computes its metrics in Python: on the same timestamps it must produce exactly the
 * numbers (and the JSON) that the Java code does, or baseline and tinyrt would not be measured alike.
 */
class HfBaselineMetricsTest {
    @TempDir Path tmp;

    /** What {@code hf_baseline.py metrics} prints. */
    record Computed(List<RunMetrics> repeats, PointSummary summary, Histogram itlHistogramMs) {
    }

    @Test
    void pythonAndJavaAgreeToTheLastBit() throws Exception {
        List<ExecutorRun.Outcome> runs = new ArrayList<>();
        for (int k = 0; k < 4; k++) {  // even count: the median averages the middle two
            runs.add(SyntheticResults.run(7 + k, 40, 9 + k, 3.7 + k, 100 + k));
        }
        runs.add(SyntheticResults.run(1, 5, 1, 2.0, 9));  // a single one-token request: TPOT and gen tok/s are 0
        ObjectNode spec = BenchmarkJson.MAPPER.createObjectNode();
        ArrayNode list = spec.putArray("runs");
        for (ExecutorRun.Outcome o : runs) {
            ObjectNode r = list.addObject();
            r.set("requests", BenchmarkJson.MAPPER.valueToTree(o.timings()));
            ArrayNode gaps = r.putArray("itl_gaps_ms");
            for (double g : o.itlGapsMs()) {
                gaps.add(g);
            }
        }
        Path file = tmp.resolve("runs.json");
        BenchmarkJson.MAPPER.writeValue(file.toFile(), spec);
        String out = python("metrics", "--runs", file.toString());
        Computed py = BenchmarkJson.MAPPER.readValue(out, Computed.class);

        List<RunMetrics> inJava = runs.stream().map(o -> RunMetrics.of(o.timings(), o.itlGapsMs())).toList();
        double[] allGaps = runs.stream().flatMapToDouble(o -> java.util.Arrays.stream(o.itlGapsMs())).toArray();
        Computed expected = new Computed(inJava, PointSummary.of(inJava), Histogram.of(allGaps, 40));
        assertEquals(expected, py);
        assertEquals(BenchmarkJson.MAPPER.writeValueAsString(expected), BenchmarkJson.MAPPER.writeValueAsString(py));
    }

    private static String python(String... args) throws IOException, InterruptedException {
        Path script = Path.of("..", "environment", "hf_baseline.py").toAbsolutePath().normalize();
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException e) {
            assumeTrue(false, "python3 is not installed");
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 timed out");
        assertEquals(0, p.exitValue(), "hf_baseline.py " + String.join(" ", args));
        return out;
    }
}
