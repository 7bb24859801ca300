package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.report.MemorySection;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.plotly.components.Figure;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole analysis on a small random model with short workloads, and everything rendered from its JSON. */
class MemoryAnalysisTest {
    @TempDir
    static Path tmp;
    static Path model;
    static JsonNode doc;

    static AnalysisSettings settings(List<WeightPrecision> precisions) {
        long bpt = MemoryFormulas.kvBytesPerToken(MemoryTestModels.small(), KvDtype.FP32);
        return new AnalysisSettings(model, null, "cpu", 1, precisions, 3L * 128 * bpt, null, 24, 2, null, 2.0,
                new int[]{16, 16}, List.of(16, 32), 0, 16, 0, 64, List.of(0.5, 2.0), List.of(0.5, 1.0, 2.0),
                List.of(2L << 20, 1L << 30), null, tmp.resolve("work"));
    }

    @BeforeAll
    static void analyse() throws Exception {
        model = MemoryTestModels.write(MemoryTestModels.small(), tmp.resolve("small"));
        ObjectNode provenance = JsonNodeFactory.instance.objectNode().put("date", "2026-11-26T00:00:00Z")
                .put("commit", "0123456789abcdef").put("command", "test");
        provenance.putObject("machine").put("cpu", "test cpu").put("logical_cores", 2);
        ObjectNode d = new MemoryAnalysis(settings(List.of(WeightPrecision.AUTO, WeightPrecision.INT8)),
                new PrintStream(new ByteArrayOutputStream())).run(provenance);
        doc = new ObjectMapper().readTree(new ObjectMapper().writeValueAsString(d));  // as a reader sees it
    }

    @Test
    void weightsAreMeasuredWhereTheBackendLoadsThem() {
        JsonNode auto = doc.path("weights").get(0);
        assertEquals("auto", auto.path("precision").asText());
        assertTrue(auto.path("loads").asBoolean());
        // the fp16 file is mapped whole; pages come in as used (the load-time warm-up may touch them all)
        JsonNode m = auto.path("measured");
        long weights = auto.path("computed_weight_bytes").asLong();
        assertTrue(Math.abs(m.path("mapped_size").asLong() - weights) < 0.05 * weights, auto.toString());
        assertTrue(m.path("mapped").asLong() > 0 && m.path("mapped").asLong() <= m.path("mapped_size").asLong(),
                m.toString());
        assertTrue(auto.path("agrees_within_5_percent").asBoolean()
                || auto.path("explanation").asText().contains("used in place"), auto.toString());
        // the CPU backend runs W8A16 in place from the converted checkpoint (embedding and lm_head stay 16-bit)
        JsonNode int8 = doc.path("weights").get(1);
        assertTrue(int8.path("loads").asBoolean(), int8.toString());
        assertTrue(int8.path("agrees_within_5_percent").asBoolean()
                || !int8.path("explanation").asText().isBlank(), int8.toString());
        assertTrue(int8.path("computed_weight_bytes").asLong() < weights, int8.toString());
    }

    @Test
    void kvCacheAndActivationsAgreeOrSayWhy() {
        JsonNode kv = doc.path("breakdown").path("kv_cache");
        assertEquals("fp32", kv.path("engine_dtype").asText());
        assertEquals(kv.path("computed_bytes_per_token").asLong(), kv.path("engine_bytes_per_token").asLong());
        assertEquals(kv.path("engine_total_bytes").asLong(), kv.path("pool").path("computed_bytes").asLong());
        for (JsonNode c : List.of(kv.path("pool"), doc.path("breakdown").path("activations"),
                doc.path("breakdown").path("process_total"))) {
            assertTrue(c.path("agrees_within_5_percent").asBoolean() || !c.path("explanation").asText().isBlank(),
                    c.toString());
        }
    }

    @Test
    void standardAndPagedRunsOverTheSameBudget() {
        JsonNode cmp = doc.path("allocation_comparison");
        assertEquals(128, cmp.path("max_seq_len").asInt());
        List<String> modes = new java.util.ArrayList<>();
        for (JsonNode r : cmp.path("runs")) {
            modes.add(r.path("workload").asText() + " " + r.path("mode").asText());
            assertEquals(cmp.path("budget_bytes").asLong(), r.path("budget_bytes").asLong());
            assertTrue(r.path("pool_computed_bytes").asLong() <= r.path("budget_bytes").asLong());
        }
        assertEquals(List.of("lognormal standard", "lognormal paged-16", "lognormal paged-32",
                "lognormal paged-32-no-evict", "fixed standard", "fixed paged-16", "fixed paged-32"), modes);
        JsonNode standard = cmp.path("runs").get(0);
        assertEquals(3, standard.path("max_concurrent").asInt());
        assertTrue(standard.has("timeline") && standard.path("timeline").path("t_ms").size()
                == standard.path("steps").asInt());
        assertTrue(cmp.path("runs").get(1).path("max_concurrent").asInt() > 3);
        JsonNode prefix = doc.path("prefix_reuse").path("runs");
        assertFalse(prefix.get(0).path("prefix_caching").asBoolean());
        assertTrue(prefix.get(1).path("prefix_hit_blocks").asLong() > 0);
    }

    @Test
    void plannerIsCheckedAndAnswers() {
        JsonNode planner = doc.path("planner");
        assertEquals(2, planner.path("verification").size());
        for (JsonNode v : planner.path("verification")) {
            assertTrue(v.path("identical_schedule").asBoolean(), v.toString());
            assertEquals(0.0, v.path("max_concurrent_error").asDouble());
        }
        JsonNode answers = planner.path("answers");
        assertEquals(2, answers.size());
        assertTrue(answers.get(0).path("error").asText().contains("do not even hold the model"), answers.toString());
        assertEquals("max_batch_size", answers.get(1).path("limited_by").asText());
        assertEquals(16, answers.get(1).path("max_concurrent").asInt());
        JsonNode q = doc.path("kv_quantization");
        assertTrue(q.path("measured").asBoolean());
        assertEquals(4.0, q.path("dtypes").get(2).path("capacity_vs_engine").asDouble());
        JsonNode fp16 = q.path("dtypes").get(1);
        JsonNode int8 = q.path("dtypes").get(2);
        JsonNode fp8 = q.path("dtypes").get(3);
        for (JsonNode row : List.of(q.path("dtypes").get(0), fp16, int8, fp8)) {
            assertTrue(row.path("engine_stores_it").asBoolean(), row.toString());  // the CPU stores all four
            assertEquals(row.path("bytes_per_token").asLong(), row.path("engine_bytes_per_token").asLong(),
                    row.toString());
            long pool = row.path("engine_pool_bytes").asLong();
            long measured = row.path("measured_pool").path("bytes").asLong();
            // heap used after GC moves by a few hundred KiB between snapshots (these pools are small); G1 may pad
            // large arrays to whole regions: at most double
            long noise = Math.max(pool / 10, 256 << 10);
            assertTrue(measured >= pool - noise && measured <= 2 * pool + noise, row.toString());
            assertTrue(row.path("pool_agrees_within_5_percent").asBoolean()
                    || !row.path("pool_explanation").asText().isBlank(), row.toString());
        }
        assertEquals(fp16.path("engine_bytes_per_token").asLong(), 2 * int8.path("engine_bytes_per_token").asLong());
        assertEquals(int8.path("engine_bytes_per_token").asLong(), fp8.path("engine_bytes_per_token").asLong());
    }

    @Test
    void reportTablesAndChartsComeFromTheJson() throws Exception {
        String md = MemoryReport.markdown(doc, true, false);
        for (String heading : List.of("## 1. Breakdown", "## 2. Standard", "## 4. Prefix reuse", "## 5. Quantized KV",
                "## 6. Capacity planner", "![KV memory over time](kv_over_time.png)")) {
            assertTrue(md.contains(heading), heading);
        }
        assertTrue(md.contains("at most 3 sequences ran at once"), md);
        assertFalse(md.contains("MISMATCH"));
        assertEquals(7, MemoryTables.allocation(doc).rowCount());
        assertEquals(2, MemoryTables.plannerCheck(doc).rowCount());
        assertTrue(md.contains("| engine pool MiB | measured pool MiB | difference % |"), md);
        Map<String, Figure> charts = MemoryCharts.all(doc);
        assertEquals(List.of("memory_per_precision", "concurrency_vs_budget", "paged_vs_standard", "kv_over_time"),
                List.copyOf(charts.keySet()));
        for (Figure f : charts.values()) {
            assertTrue(f.asJavascript("x").contains("Plotly.newPlot"));
        }
        Path results = tmp.resolve("results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("memory_small_cpu_2026-11-26.json"), doc.toString());
        String section = MemorySection.pagedVsStandard(results);
        assertTrue(section.contains("| small | cpu |") && section.contains("| lognormal | 3, "), section);
    }
}
