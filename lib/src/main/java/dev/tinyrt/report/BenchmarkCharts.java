package dev.tinyrt.report;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.Histogram;
import dev.tinyrt.bench.PointResult;
import dev.tinyrt.notebook.PlotlyJs;
import tech.tablesaw.plotly.components.Axis;
import tech.tablesaw.plotly.components.Config;
import tech.tablesaw.plotly.components.Figure;
import tech.tablesaw.plotly.components.Font;
import tech.tablesaw.plotly.components.Layout;
import tech.tablesaw.plotly.components.TickSettings;
import tech.tablesaw.plotly.traces.BarTrace;
import tech.tablesaw.plotly.traces.ScatterTrace;
import tech.tablesaw.plotly.traces.Trace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * The benchmark charts, built only from results: output tokens/s vs batch size, TTFT vs input length,
 * the inter-token latency distribution, peak memory per precision and the speed-up over the HF baseline (points
 * of the same run only). Each chart set gets one self-contained HTML page and one PNG per chart.
 */
public final class BenchmarkCharts {
    public static final int WIDTH = 900;
    public static final int HEIGHT = 520;

    /** A chart and the file name of its PNG. */
    public record Chart(String name, Figure figure) {
    }

    private BenchmarkCharts() {
    }

    /**
     * Writes {@code dir/SET/benchmark.html} and {@code dir/SET/NAME.png} for every chart set (PNGs only where
     * chromium is installed; a note says so otherwise). Returns the files written.
     */
    public static List<Path> write(List<BenchmarkReport> reports, Path dir) {
        PlotlyJs plotly = PlotlyJs.locate();
        Optional<ChromiumPng> chromium = ChromiumPng.find();
        if (chromium.isEmpty()) {
            System.err.println("note: no chromium on the PATH, charts are written as HTML only "
                    + "(apt-get install -y chromium for PNGs)");
        }
        List<Path> written = new ArrayList<>();
        try {
            for (ChartSets.ChartSet set : ChartSets.of(reports)) {
                Path out = Files.createDirectories(dir.resolve(set.key()));
                List<Chart> charts = charts(set);
                Path page = out.resolve("benchmark.html");
                Files.writeString(page, ChartPage.html("tinyrt benchmark: " + set.model() + " on " + set.machine(),
                        charts.stream().map(Chart::figure).toList(), plotly));
                written.add(page);
                if (chromium.isPresent()) {
                    Path tmp = Files.createTempFile("tinyrt-chart-", ".html");
                    try {
                        for (Chart c : charts) {
                            Files.writeString(tmp, ChartPage.html(c.name(), List.of(c.figure()), plotly));
                            Path png = out.resolve(c.name() + ".png");
                            chromium.get().render(tmp, png, WIDTH + 20, HEIGHT + 20);
                            written.add(png);
                        }
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot write charts to " + dir + ": " + e.getMessage(), e);
        }
        return written;
    }

    public static List<Chart> charts(ChartSets.ChartSet set) {
        List<ChartSets.Row> rows = set.rows();
        if (rows.isEmpty()) {
            return List.of();
        }
        int refInput = ChartSets.preferred(rows, p -> p.inputLen(), 128);
        int refBatch = ChartSets.preferred(rows, p -> p.batchSize(), 1);
        String subtitle = set.model() + " · " + set.machine();
        List<Chart> charts = new ArrayList<>();
        charts.add(new Chart("throughput_vs_batch", lines(rows, p -> p.inputLen() == refInput, p -> p.batchSize(),
                p -> p.summary().systemOutputThroughputTokS().median(),
                "Output tokens/s vs batch size — input " + refInput + " · " + subtitle, "batch size (log)",
                "output tokens/s (median)", true)));
        charts.add(new Chart("ttft_vs_input", lines(rows, p -> p.batchSize() == refBatch, p -> p.inputLen(),
                p -> p.summary().avgTtftMs().median(), "TTFT vs input length — batch " + refBatch + " · " + subtitle,
                "input tokens", "mean TTFT, ms (median of runs)", false)));
        charts.add(new Chart("itl_distribution", itl(rows, refBatch, refInput, subtitle)));
        charts.add(new Chart("memory", memory(rows, subtitle)));
        speedup(rows, refInput, subtitle).ifPresent(f -> charts.add(new Chart("speedup_vs_hf", f)));
        return charts;
    }

    private static Map<String, List<PointResult>> byLabel(List<ChartSets.Row> rows, Predicate<PointResult> keep) {
        Map<String, List<PointResult>> m = new LinkedHashMap<>();
        for (ChartSets.Row r : rows) {
            if (keep.test(r.point())) {
                m.computeIfAbsent(r.label(), k -> new ArrayList<>()).add(r.point());
            }
        }
        return m;
    }

    private static Figure lines(List<ChartSets.Row> rows, Predicate<PointResult> keep, ToDoubleFunction<PointResult> x,
                                ToDoubleFunction<PointResult> y, String title, String xTitle, String yTitle,
                                boolean logX) {
        List<Trace> traces = new ArrayList<>();
        java.util.TreeSet<Double> xs = new java.util.TreeSet<>();
        byLabel(rows, keep).forEach((label, points) -> {
            List<PointResult> sorted = points.stream().sorted(Comparator.comparingDouble(x)).toList();
            sorted.forEach(p -> xs.add(x.applyAsDouble(p)));
            traces.add(ScatterTrace.builder(sorted.stream().mapToDouble(x).toArray(),
                            sorted.stream().mapToDouble(y).toArray())
                    .mode(ScatterTrace.Mode.LINE_AND_MARKERS).name(label).build());
        });
        // ticks exactly at the measured values (a log axis would otherwise label 2, 3, 5...)
        Axis.AxisBuilder xAxis = Axis.builder().title(xTitle)
                .tickSettings(TickSettings.builder().tickMode(TickSettings.TickMode.ARRAY)
                        .arrayTicks(xs.stream().mapToDouble(Double::doubleValue).toArray())
                        .build());
        if (logX) {
            xAxis.type(Axis.Type.LOG);
        }
        return figure(layout(title).xAxis(xAxis.build()).yAxis(Axis.builder().title(yTitle).build()).build(),
                traces);
    }

    private static Figure itl(List<ChartSets.Row> rows, int batch, int input, String subtitle) {
        List<Trace> traces = new ArrayList<>();
        byLabel(rows, p -> p.batchSize() == batch && p.inputLen() == input && p.itlHistogramMs() != null)
                .forEach((label, points) -> {
                    Histogram h = points.getFirst().itlHistogramMs();
                    long total = h.counts().stream().mapToLong(Long::longValue).sum();
                    if (total == 0) {
                        return;
                    }
                    double[] centers = new double[h.counts().size()];
                    double[] share = new double[h.counts().size()];
                    for (int i = 0; i < centers.length; i++) {
                        centers[i] = (h.binEdges().get(i) + h.binEdges().get(i + 1)) / 2;
                        share[i] = 100.0 * h.counts().get(i) / total;
                    }
                    traces.add(ScatterTrace.builder(centers, share).mode(ScatterTrace.Mode.LINE_AND_MARKERS)
                            .name(label).build());
                });
        return figure(layout("Inter-token latency distribution — batch " + batch + ", input " + input + " · "
                        + subtitle).xAxis(Axis.builder().title("gap between consecutive tokens, ms").build())
                .yAxis(Axis.builder().title("share of gaps, %").build()).build(), traces);
    }

    private static Figure memory(List<ChartSets.Row> rows, String subtitle) {
        Map<String, Double> peak = new LinkedHashMap<>();
        for (ChartSets.Row r : rows) {
            Long bytes = r.point().memory().headlineBytes();
            if (bytes != null) {
                peak.merge(r.label(), bytes / (1024.0 * 1024), Math::max);
            }
        }
        Trace bars = BarTrace.builder(peak.keySet().toArray(), peak.values().stream().mapToDouble(Double::doubleValue)
                .toArray()).name("peak memory").build();
        return figure(layout("Peak memory — " + subtitle).xAxis(Axis.builder().title("system").build())
                .yAxis(Axis.builder().title("MiB (GPU: device above idle; CPU: process RSS)").build()).build(), List.of(bars));
    }

    private static Optional<Figure> speedup(List<ChartSets.Row> rows, int input, String subtitle) {
        List<Trace> traces = new ArrayList<>();
        byLabel(rows, p -> p.system().equals("tinyrt") && p.inputLen() == input).forEach((label, points) -> {
            List<String> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (PointResult p : points.stream().sorted(Comparator.comparingInt(PointResult::batchSize)).toList()) {
                BenchmarkReport run = rows.stream().filter(r -> r.point() == p).findFirst().orElseThrow().report();
                run.results().stream().filter(h -> h.system().equals("hf") && h.batchSize() == p.batchSize()
                                && h.concurrency() == p.concurrency() && h.inputLen() == p.inputLen()
                                && h.outputLen() == p.outputLen())
                        .findFirst().ifPresent(h -> {
                            x.add("batch " + p.batchSize());
                            y.add(p.summary().systemOutputThroughputTokS().median()
                                    / h.summary().systemOutputThroughputTokS().median());
                        });
            }
            if (!x.isEmpty()) {
                traces.add(BarTrace.builder(x.toArray(), y.stream().mapToDouble(Double::doubleValue).toArray())
                        .name(label).build());
            }
        });
        if (traces.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(figure(layout("Speed-up over HF eager, output tokens/s — input " + input + " · "
                        + subtitle).barMode(Layout.BarMode.GROUP)
                .xAxis(Axis.builder().title("batch size").build())
                .yAxis(Axis.builder().title("tinyrt / HF").build()).build(), traces));
    }

    /** A static figure: no mode bar (it would show in the PNGs). */
    private static Figure figure(Layout layout, List<Trace> traces) {
        return new Figure(layout, Config.builder().displayModeBar(false).build(), traces.toArray(Trace[]::new));
    }

    private static Layout.LayoutBuilder layout(String title) {
        return Layout.builder().title(title).titleFont(Font.builder().size(15).build()).width(WIDTH).height(HEIGHT);
    }
}
