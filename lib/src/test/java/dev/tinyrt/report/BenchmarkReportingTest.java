package dev.tinyrt.report;

import dev.tinyrt.bench.BenchmarkJson;
import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.PointResult;
import dev.tinyrt.bench.SyntheticResults;
import dev.tinyrt.notebook.PlotlyJs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** README tables and chart sets built from benchmark results alone. */
class BenchmarkReportingTest {
    @TempDir Path tmp;

    private static double tput(BenchmarkReport r, String system, int batch, int input) {
        return r.results().stream().filter(p -> p.system().equals(system) && p.batchSize() == batch
                && p.inputLen() == input).findFirst().orElseThrow().summary().systemOutputThroughputTokS().median();
    }

    @Test
    void readmeTableComesFromTheResultFiles() {
        BenchmarkReport r = SyntheticResults.report("2026-11-26T12:00:00Z");
        BenchmarkJson.write(tmp.resolve("benchmark_cpu_tiny_fp16_vs-hf.json"), r);
        BenchmarkJson.write(tmp.resolve("cpu_speed.json"), r);  // other prefixes are not benchmark results
        String md = ResultTables.all(tmp).get("benchmark");
        assertTrue(md.startsWith("**tiny on Test CPU** — input 32, output 16 tokens"), md);
        assertTrue(md.contains("| system | batch 1 | batch 8 | TTFT ms (batch 1) | TPOT ms (batch 1) | peak memory "
                + "| vs HF (batch 8) |"), md);
        String speedup = String.format(Locale.ROOT, "%.2f×", tput(r, "tinyrt", 8, 32) / tput(r, "hf", 8, 32));
        String tinyrtRow = md.lines().filter(l -> l.startsWith("| tinyrt fp16 |")).findFirst().orElseThrow();
        assertTrue(tinyrtRow.endsWith("| " + speedup + " |"), tinyrtRow);
        assertTrue(tinyrtRow.contains("| 500 MiB |"), tinyrtRow);
        String hfRow = md.lines().filter(l -> l.startsWith("| hf fp32 |")).findFirst().orElseThrow();
        assertTrue(hfRow.endsWith("| – |"), hfRow);
        assertTrue(md.contains("Measured 2026-11-26 at `01234567` with `jbang jbang-scripts/benchmark.java --test`"), md);
        assertTrue(md.contains("![output tokens/s vs batch size](docs/charts/test-cpu_tiny/throughput_vs_batch.png)"), md);
    }

    @Test
    void withoutResultsTheSectionSaysHowToMakeThem() {
        assertTrue(BenchmarkMarkdown.section(tmp).contains("No benchmark results committed yet"));
    }

    @Test
    void aNewerRunOfTheSamePointReplacesTheOlderOneAndOtherPointsAddUp() {
        BenchmarkReport old = SyntheticResults.report("2026-11-01T00:00:00Z");
        BenchmarkReport newer = SyntheticResults.report("2026-11-20T00:00:00Z");
        List<ChartSets.ChartSet> sets = ChartSets.of(List.of(newer, old));
        assertEquals(1, sets.size());
        assertEquals("test-cpu_tiny", sets.getFirst().key());
        assertTrue(sets.getFirst().rows().stream().allMatch(row -> row.report() == newer));
        assertEquals(newer.results().size(), sets.getFirst().rows().size());
        // a run of input 64 only, then one of input 32 only: both inputs stay
        BenchmarkReport in64 = keep(old, 64);
        BenchmarkReport in32 = keep(newer, 32);
        var rows = ChartSets.of(List.of(in32, in64)).getFirst().rows();
        assertEquals(old.results().size(), rows.size());
        assertTrue(rows.stream().allMatch(row -> row.report() == (row.point().inputLen() == 64 ? in64 : in32)));
    }

    private static BenchmarkReport keep(BenchmarkReport r, int input) {
        return new BenchmarkReport(r.schema(), r.date(), r.command(), r.commit(), r.worktreeClean(), r.machine(),
                r.software(), r.gpu(), r.model(), r.workload(), r.systems(),
                r.results().stream().filter(p -> p.inputLen() == input).toList());
    }

    @Test
    void chartsCoverThroughputTtftItlMemoryAndSpeedup() {
        BenchmarkReport r = SyntheticResults.report("2026-11-26T12:00:00Z");
        var charts = BenchmarkCharts.charts(ChartSets.of(List.of(r)).getFirst());
        assertEquals(List.of("throughput_vs_batch", "ttft_vs_input", "itl_distribution", "memory", "speedup_vs_hf"),
                charts.stream().map(BenchmarkCharts.Chart::name).toList());
        String js = charts.getFirst().figure().asJavascript("f");
        assertTrue(js.contains("name: 'tinyrt fp16'") && js.contains("name: 'hf fp32'"), js);
        assertTrue(js.contains("tickvals: [1.0, 8.0]"), js);
        List<PointResult> tinyrtOnly = r.results().stream().filter(p -> p.system().equals("tinyrt")).toList();
        BenchmarkReport alone = r.with(List.of(), List.of());
        alone = new BenchmarkReport(alone.schema(), alone.date(), alone.command(), alone.commit(), alone.worktreeClean(),
                alone.machine(), alone.software(), alone.gpu(), alone.model(), alone.workload(),
                alone.systems().subList(0, 1), tinyrtOnly);
        assertFalse(BenchmarkCharts.charts(ChartSets.of(List.of(alone)).getFirst()).stream()
                .anyMatch(c -> c.name().equals("speedup_vs_hf")));
        String md = BenchmarkMarkdown.section(List.of(alone));
        assertTrue(md.contains("| peak memory |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"), "no HF column: " + md);
    }

    @Test
    void chartPagesInlinePlotlyAndNeedNoNetwork() throws Exception {
        BenchmarkReport r = SyntheticResults.report("2026-11-26T12:00:00Z");
        var figures = BenchmarkCharts.charts(ChartSets.of(List.of(r)).getFirst()).stream()
                .map(BenchmarkCharts.Chart::figure).toList();
        Path fake = tmp.resolve("plotly.min.js");
        Files.writeString(fake, "/**\n* plotly.js v2.35.3\n*/ window.Plotly = {newPlot: function () {}};\n");
        String html = ChartPage.html("t", figures, PlotlyJs.load(fake));
        assertEquals(1, html.split("window.Plotly = ", -1).length - 1, "plotly.js inlined once");
        assertFalse(html.contains("<script src") || html.contains("cdn."), "no external script");
        for (int i = 0; i < figures.size(); i++) {
            assertTrue(html.contains("<div id='figure" + i + "'"), "figure " + i);
        }
    }

    @Test
    void tablesHaveOneRowPerPoint() {
        BenchmarkReport r = SyntheticResults.report("2026-11-26T12:00:00Z");
        Table t = BenchmarkTables.points(r);
        assertEquals(r.results().size(), t.rowCount());
        assertEquals(tput(r, "hf", 8, 64), t.doubleColumn("out tok/s").get(7), 0.05);
        assertEquals(8, t.intColumn("batch").get(7));
        assertTrue(t.doubleColumn("KV peak %").isMissing(7), "HF has no paged KV cache");

        List<String> lines = PointColumns.text(r).lines().toList();
        assertEquals(r.results().size() + 2, lines.size());
        assertTrue(lines.get(0).startsWith("system  precision  batching  batch"), lines.get(0));
        assertTrue(lines.get(1).matches("[- ]+"), lines.get(1));
        String hf = lines.get(9);
        assertTrue(hf.startsWith("hf      fp32       static"), hf);
        assertTrue(hf.endsWith("–"), "no KV cache for HF: " + hf);
        assertEquals(lines.get(0).length(), lines.get(2).length(), "columns line up");
    }

    @Test
    void pngsAreRenderedByHeadlessChromium() throws Exception {
        var chromium = ChromiumPng.find();
        PlotlyJs plotly;
        try {
            plotly = PlotlyJs.locate();
        } catch (dev.tinyrt.TinyrtException e) {
            plotly = null;
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(chromium.isPresent() && plotly != null,
                "needs chromium and plotly.js (environment/setup.sh)");
        BenchmarkReport r = SyntheticResults.report("2026-11-26T12:00:00Z");
        var chart = BenchmarkCharts.charts(ChartSets.of(List.of(r)).getFirst()).getFirst();
        Path html = tmp.resolve("chart.html");
        Files.writeString(html, ChartPage.html(chart.name(), List.of(chart.figure()), plotly));
        Path png = tmp.resolve("chart.png");
        chromium.get().render(html, png, BenchmarkCharts.WIDTH, BenchmarkCharts.HEIGHT);
        byte[] bytes = Files.readAllBytes(png);
        assertEquals("\u0089PNG", new String(bytes, 0, 4, java.nio.charset.StandardCharsets.ISO_8859_1));
        assertTrue(bytes.length > 10_000, "a drawn chart, not a blank page: " + bytes.length + " bytes");
        assertFalse(Files.readString(html).contains("<script src"), "plotly.js is inlined");
    }
}
