package dev.tinyrt.report;

import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.PointResult;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/** Benchmark results as a Tablesaw table (notebooks, analysis): one row per point, {@link PointColumns}' columns. */
public final class BenchmarkTables {
    private BenchmarkTables() {
    }

    public static Table points(BenchmarkReport report) {
        Table t = Table.create("benchmark: " + report.model().name());
        for (PointColumns.Column c : PointColumns.ALL) {
            t.addColumns(column(c, report));
        }
        return t;
    }

    /** A column typed by its values: Integer → int, Double → double (NaN where not measured), else text. */
    private static Column<?> column(PointColumns.Column c, BenchmarkReport report) {
        Object first = report.results().stream().map(p -> c.value().apply(p)).filter(java.util.Objects::nonNull)
                .findFirst().orElse(0.0);
        if (first instanceof Integer) {
            IntColumn col = IntColumn.create(c.name());
            report.results().forEach(p -> col.append((Integer) c.value().apply(p)));
            return col;
        }
        if (first instanceof Double) {
            DoubleColumn col = DoubleColumn.create(c.name());
            for (PointResult p : report.results()) {
                Object v = c.value().apply(p);
                col.append(v == null ? Double.NaN : (Double) v);
            }
            return col;
        }
        StringColumn col = StringColumn.create(c.name());
        report.results().forEach(p -> col.append(String.valueOf(c.value().apply(p))));
        return col;
    }
}
