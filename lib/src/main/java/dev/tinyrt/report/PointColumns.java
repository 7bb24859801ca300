package dev.tinyrt.report;

import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.PointResult;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The columns a benchmark point is shown with — one definition for the console table (plain text, so a run needs
 * no table library: the GPU machine's bundle leaves Tablesaw out) and for the Tablesaw table of notebooks.
 */
public final class PointColumns {
    /** A column: its header and the value of one point (String, Integer or Double; null for "not measured"). */
    public record Column(String name, Function<PointResult, Object> value) {
    }

    public static final List<Column> ALL = List.of(
            new Column("system", PointResult::system),
            new Column("precision", PointResult::precision),
            new Column("batching", PointResult::batching),
            new Column("batch", PointResult::batchSize),
            new Column("conc", PointResult::concurrency),
            new Column("in", PointResult::inputLen),
            new Column("out", PointResult::outputLen),
            new Column("requests", PointResult::numRequests),
            new Column("req/s", p -> round(p.summary().requestThroughputReqS().median(), 3)),
            new Column("out tok/s", p -> round(p.summary().systemOutputThroughputTokS().median(), 1)),
            new Column("out tok/s min-max", p -> Format.range(p.summary().systemOutputThroughputTokS())),
            new Column("tok/s/user", p -> round(p.summary().tokenOutputSpeedTokS().median(), 1)),
            new Column("TTFT ms", p -> round(p.summary().avgTtftMs().median(), 2)),
            new Column("TPOT ms", p -> round(p.summary().avgTpotMs().median(), 3)),
            new Column("p99 e2e ms", p -> round(p.summary().p99RequestLatencyMs().median(), 1)),
            new Column("peak MiB", p -> p.memory().headlineBytes() == null ? null
                    : round(p.memory().headlineBytes() / (1024.0 * 1024), 1)),
            new Column("KV peak %", p -> p.kvCache() == null ? null : round(p.kvCache().peakUtilization() * 100, 1)));

    private PointColumns() {
    }

    /** A fixed-width text table, one row per point: numbers right-aligned, "–" where nothing was measured. */
    public static String text(BenchmarkReport report) {
        List<String[]> rows = new ArrayList<>();
        rows.add(ALL.stream().map(Column::name).toArray(String[]::new));
        for (PointResult p : report.results()) {
            rows.add(ALL.stream().map(c -> show(c.value().apply(p))).toArray(String[]::new));
        }
        int[] width = new int[ALL.size()];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            for (int i = 0; i < width.length; i++) {
                boolean number = r > 0 && !(ALL.get(i).value().apply(report.results().get(r - 1)) instanceof String);
                String cell = rows.get(r)[i];
                String pad = " ".repeat(width[i] - cell.length());
                out.append(i == 0 ? "" : "  ").append(number ? pad + cell : cell + pad);
            }
            out.append('\n');
            if (r == 0) {
                for (int i = 0; i < width.length; i++) {
                    out.append(i == 0 ? "" : "  ").append("-".repeat(width[i]));
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    private static String show(Object v) {
        if (v == null) {
            return "–";
        }
        if (v instanceof Double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString();
        }
        return v.toString();
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
