package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.scripts.ScriptHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** memory_analysis.java as users run it, on a small random model with short workloads. */
class MemoryAnalysisScriptTest {
    @TempDir
    static Path tmp;
    static Path model;
    static String previousPlotly;

    /** A stand-in for plotly.js with the banner PlotlyJs checks: the HTML pages only need to be written. */
    @BeforeAll
    static void setUp() throws IOException {
        model = MemoryTestModels.write(MemoryTestModels.small(), tmp.resolve("small"));
        Path plotly = tmp.resolve("plotly.min.js");
        Files.writeString(plotly, "/**\n* plotly.js v2.35.3\n*/\nwindow.Plotly = {};\n");
        previousPlotly = System.getProperty("tinyrt.plotly.js");
        System.setProperty("tinyrt.plotly.js", plotly.toString());
    }

    @AfterAll
    static void restore() {
        if (previousPlotly == null) {
            System.clearProperty("tinyrt.plotly.js");
        } else {
            System.setProperty("tinyrt.plotly.js", previousPlotly);
        }
    }

    static String[] args(String precisions, String... extra) {
        List<String> a = new ArrayList<>(List.of("--model", model.toString(), "--precision", precisions,
                "--requests", "12", "--length-scale", "2", "--fixed", "16,16", "--block-sizes", "16",
                "--max-batch-size", "16", "--activation-tokens", "64", "--sweep-budgets", "1",
                "--verify-budgets", "2", "--threads", "1", "--no-png"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void writesTheResultAndTheReport() throws IOException {
        Path results = tmp.resolve("results");
        Path report = tmp.resolve("report");
        var r = ScriptHarness.run("memory_analysis.java", args("auto,int4", "--results", results.toString(), "--out",
                report.toString()));
        assertEquals(0, r.exitCode(), r.err());
        Path json;
        try (Stream<Path> files = Files.list(results)) {
            json = files.filter(f -> f.getFileName().toString().matches("memory_small_cpu_\\d{4}-\\d\\d-\\d\\d\\.json"))
                    .findFirst().orElseThrow();
        }
        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertEquals(MemoryAnalysis.SCHEMA, doc.path("schema").asText());
        assertTrue(doc.path("command").asText().startsWith("jbang jbang-scripts/memory_analysis.java --model"));
        assertTrue(doc.has("commit") && doc.has("machine") && doc.has("settings"));
        assertEquals(2, doc.path("weights").size());
        for (String chart : List.of("memory_per_precision", "concurrency_vs_budget", "paged_vs_standard",
                "kv_over_time")) {
            assertTrue(Files.readString(report.resolve(chart + ".html")).contains("plotly.js v2.35.3"), chart);
        }
        String md = Files.readString(report.resolve("memory_report.md"));
        assertTrue(md.startsWith("# Memory analysis: small on cpu"), md);
        assertTrue(md.contains("[Memory per weight precision (interactive)](memory_per_precision.html)"));

        Path again = tmp.resolve("again");
        var rendered = ScriptHarness.run("memory_analysis.java", "--render", json.toString(), "--out",
                again.toString(), "--no-png");
        assertEquals(0, rendered.exitCode(), rendered.err());
        assertEquals(md, Files.readString(again.resolve("memory_report.md")));
    }

    /** Without a GPU, --backend cuda stops before any work with the driver's reason. */
    @Test
    void cudaWithoutAGpuIsOneLine() {
        assumeTrue(dev.tinyrt.backend.cuda.CudaDevice.unavailableReason().isPresent(), "a GPU is present");
        var cuda = ScriptHarness.run("memory_analysis.java", args("auto", "--backend", "cuda"));
        assertEquals(2, cuda.exitCode());
        assertEquals(1, cuda.err().strip().lines().count(), cuda.err());
        assertTrue(cuda.err().startsWith("error: the CUDA backend cannot start"), cuda.err());
        assertTrue(cuda.out().isEmpty(), "nothing measured: " + cuda.out());
    }

    @Test
    void userErrorsAreOneLine() {
        var bad = ScriptHarness.run("memory_analysis.java", args("fp12"));
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().startsWith("error: unknown precision \"fp12\""), bad.err());
        var missing = ScriptHarness.run("memory_analysis.java", "--render", tmp.resolve("none.json").toString());
        assertEquals(2, missing.exitCode());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
    }
}
