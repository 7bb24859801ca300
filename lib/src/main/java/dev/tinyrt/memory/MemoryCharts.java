package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import tech.tablesaw.plotly.components.Axis;
import tech.tablesaw.plotly.components.Figure;
import tech.tablesaw.plotly.components.Layout;
import tech.tablesaw.plotly.components.Margin;
import tech.tablesaw.plotly.traces.BarTrace;
import tech.tablesaw.plotly.traces.ScatterTrace;
import tech.tablesaw.plotly.traces.Trace;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Plotly figures (through Tablesaw) of a memory analysis document. Sizes in MiB. */
public final class MemoryCharts {
    private static final double MIB = MemoryTables.MIB;

    private MemoryCharts() {
    }

    /** Every chart of the report, by file name. */
    public static Map<String, Figure> all(JsonNode doc) {
        Map<String, Figure> charts = new LinkedHashMap<>();
        charts.put("memory_per_precision", perPrecision(doc));
        charts.put("concurrency_vs_budget", concurrencyVsBudget(doc));
        charts.put("paged_vs_standard", pagedVsStandard(doc));
        charts.put("kv_over_time", kvOverTime(doc));
        return charts;
    }

    /**
     * Stacked bars per precision: weights, the comparison's KV pool and the activation workspace, as computed
     * (the breakdown table checks each against a measurement).
     */
    public static Figure perPrecision(JsonNode doc) {
        List<String> labels = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (JsonNode w : doc.path("weights")) {
            labels.add(w.path("precision").asText() + (w.path("loads").asBoolean() ? "" : " (not loadable yet)"));
            weights.add(w.path("computed_bytes").asDouble() / MIB);
        }
        double kv = doc.path("allocation_comparison").path("budget_bytes").asDouble() / MIB;
        double act = doc.path("breakdown").path("activations").path("computed_bytes").asDouble() / MIB;
        Object[] x = labels.toArray();
        int n = labels.size();
        Layout layout = layout().title("Memory per weight precision (computed; checked against measurements in "
                        + "the breakdown table)").barMode(Layout.BarMode.STACK)
                .xAxis(Axis.builder().title("weight precision").build())
                .yAxis(Axis.builder().title("MiB").build()).build();
        return new Figure(layout,
                BarTrace.builder(x, weights.stream().mapToDouble(Double::doubleValue).toArray()).name("weights").build(),
                BarTrace.builder(x, filled(n, kv)).name("KV pool (" + doc.path("breakdown").path("kv_cache")
                        .path("engine_dtype").asText() + ", comparison budget)").build(),
                BarTrace.builder(x, filled(n, act)).name("activations ("
                        + doc.path("breakdown").path("activations").path("tokens").asInt() + "-token step)").build());
    }

    /** Max concurrent sequences against the KV budget, per allocation mode; measured runs as markers. */
    public static Figure concurrencyVsBudget(JsonNode doc) {
        Map<String, List<double[]>> lines = new LinkedHashMap<>();
        for (JsonNode p : doc.path("concurrency_sweep").path("points")) {
            lines.computeIfAbsent(p.path("mode").asText(), k -> new ArrayList<>())
                    .add(new double[]{p.path("kv_budget_bytes").asDouble() / MIB, p.path("max_concurrent").asDouble()});
        }
        List<Trace> traces = new ArrayList<>();
        lines.forEach((mode, pts) -> traces.add(ScatterTrace.builder(col(pts, 0), col(pts, 1))
                .mode(ScatterTrace.Mode.LINE_AND_MARKERS).name(mode + " (scheduler on proxy)").build()));
        String workload = doc.path("concurrency_sweep").path("workload").asText();
        Map<String, List<double[]>> measured = new LinkedHashMap<>();
        for (JsonNode r : doc.path("allocation_comparison").path("runs")) {
            String mode = r.path("mode").asText();
            if (r.path("workload").asText().equals(workload) && lines.containsKey(mode)) {
                measured.computeIfAbsent(mode, k -> new ArrayList<>()).add(new double[]{
                        r.path("budget_bytes").asDouble() / MIB, r.path("max_concurrent").asDouble()});
            }
        }
        for (JsonNode v : doc.path("planner").path("verification")) {
            measured.computeIfAbsent(v.path("predicted").path("mode").asText(), k -> new ArrayList<>())
                    .add(new double[]{v.path("measured").path("kv_budget_bytes").asDouble() / MIB,
                            v.path("measured").path("max_concurrent").asDouble()});
        }
        measured.forEach((mode, pts) -> traces.add(ScatterTrace.builder(col(pts, 0), col(pts, 1))
                .mode(ScatterTrace.Mode.MARKERS).name(mode + " (measured run)").build()));
        Layout layout = layout().title("Max concurrent sequences vs KV budget (" + workload + "; lines: "
                        + doc.path("concurrency_sweep").path("requests").asInt() + " requests scheduled on the proxy)")
                .xAxis(Axis.builder().title("KV budget (MiB)").type(Axis.Type.LOG).build())
                .yAxis(Axis.builder().title("max concurrent sequences").build()).build();
        return new Figure(layout, traces.toArray(Trace[]::new));
    }

    /** Mean allocated vs used KV bytes per mode, for each workload of the comparison. */
    public static Figure pagedVsStandard(JsonNode doc) {
        List<String> x = new ArrayList<>();
        List<Double> allocated = new ArrayList<>();
        List<Double> used = new ArrayList<>();
        for (JsonNode r : doc.path("allocation_comparison").path("runs")) {
            x.add(r.path("workload").asText() + " " + r.path("mode").asText());
            allocated.add(r.path("mean_allocated_bytes").asDouble() / MIB);
            used.add(r.path("mean_used_bytes").asDouble() / MIB);
        }
        Layout layout = layout().title("Paged vs contiguous: KV allocated vs actually used (time averages, "
                        + "same budget)").barMode(Layout.BarMode.GROUP)
                .xAxis(Axis.builder().title("workload and allocation").build())
                .yAxis(Axis.builder().title("MiB").build()).build();
        return new Figure(layout,
                BarTrace.builder(x.toArray(), allocated.stream().mapToDouble(Double::doubleValue).toArray())
                        .name("allocated").build(),
                BarTrace.builder(x.toArray(), used.stream().mapToDouble(Double::doubleValue).toArray())
                        .name("used by tokens").build());
    }

    /** KV memory over time: allocated and used bytes at every step of the runs that kept a timeline. */
    public static Figure kvOverTime(JsonNode doc) {
        List<Trace> traces = new ArrayList<>();
        List<JsonNode> runs = new ArrayList<>();
        doc.path("allocation_comparison").path("runs").forEach(runs::add);
        doc.path("prefix_reuse").path("runs").forEach(runs::add);
        for (JsonNode r : runs) {
            JsonNode t = r.path("timeline");
            if (t.isMissingNode()) {
                continue;
            }
            double perToken = r.path("bytes_per_token").asDouble() / MIB;
            int block = r.path("tokens_per_block").asInt();
            double[] time = doubles(t.path("t_ms"), 1e-3);
            double[] allocated = doubles(t.path("blocks_used"), block * perToken);
            double[] used = doubles(t.path("used_tokens"), perToken);
            String name = r.path("workload").asText() + " " + r.path("mode").asText();
            traces.add(ScatterTrace.builder(time, allocated).mode(ScatterTrace.Mode.LINE).name(name + " allocated")
                    .build());
            if (!r.path("prefix_caching").asBoolean()) {  // shared tokens would count once per sequence
                traces.add(ScatterTrace.builder(time, used).mode(ScatterTrace.Mode.LINE).name(name + " used")
                        .build());
            }
        }
        Layout layout = layout().title("KV-cache memory over time: blocks in use (allocated) and tokens held (used)")
                .xAxis(Axis.builder().title("seconds since the workload was queued").build())
                .yAxis(Axis.builder().title("MiB").build()).build();
        return new Figure(layout, traces.toArray(Trace[]::new));
    }

    /** Every chart at the size the PNGs are taken at, with room for long category labels. */
    private static Layout.LayoutBuilder layout() {
        return Layout.builder().width(ChartFiles.WIDTH - 50).height(ChartFiles.HEIGHT - 50)
                .margin(Margin.builder().left(70).right(20).top(60).bottom(170).build());
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static double[] col(List<double[]> pts, int i) {
        return pts.stream().mapToDouble(p -> p[i]).toArray();
    }

    private static double[] doubles(JsonNode array, double scale) {
        double[] a = new double[array.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = array.get(i).asDouble() * scale;
        }
        return a;
    }
}
