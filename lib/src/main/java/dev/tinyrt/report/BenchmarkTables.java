package dev.tinyrt.report;

import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.KvCacheStats;
import dev.tinyrt.bench.PointResult;
import dev.tinyrt.bench.PointSummary;
import dev.tinyrt.bench.Stats;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** Benchmark results as a Tablesaw table: one row per point, headline metrics as medians over repeats. */
public final class BenchmarkTables {
    private BenchmarkTables() {
    }

    public static Table points(BenchmarkReport report) {
        Table t = Table.create("benchmark: " + report.model().name()).addColumns(
                StringColumn.create("system"), StringColumn.create("precision"), StringColumn.create("batching"),
                IntColumn.create("batch"), IntColumn.create("conc"), IntColumn.create("in"), IntColumn.create("out"),
                IntColumn.create("requests"), DoubleColumn.create("req/s"), DoubleColumn.create("out tok/s"),
                StringColumn.create("out tok/s min-max"), DoubleColumn.create("tok/s/user"),
                DoubleColumn.create("TTFT ms"), DoubleColumn.create("TPOT ms"), DoubleColumn.create("p99 e2e ms"),
                DoubleColumn.create("peak MiB"), DoubleColumn.create("KV peak %"));
        for (PointResult p : report.results()) {
            PointSummary s = p.summary();
            Stats tput = s.systemOutputThroughputTokS();
            KvCacheStats kv = p.kvCache();
            Long mem = p.memory().headlineBytes();
            t.stringColumn("system").append(p.system());
            t.stringColumn("precision").append(p.precision());
            t.stringColumn("batching").append(p.batching());
            t.intColumn("batch").append(p.batchSize());
            t.intColumn("conc").append(p.concurrency());
            t.intColumn("in").append(p.inputLen());
            t.intColumn("out").append(p.outputLen());
            t.intColumn("requests").append(p.numRequests());
            t.doubleColumn("req/s").append(round(s.requestThroughputReqS().median(), 3));
            t.doubleColumn("out tok/s").append(round(tput.median(), 1));
            t.stringColumn("out tok/s min-max").append(Format.range(tput));
            t.doubleColumn("tok/s/user").append(round(s.tokenOutputSpeedTokS().median(), 1));
            t.doubleColumn("TTFT ms").append(round(s.avgTtftMs().median(), 2));
            t.doubleColumn("TPOT ms").append(round(s.avgTpotMs().median(), 3));
            t.doubleColumn("p99 e2e ms").append(round(s.p99RequestLatencyMs().median(), 1));
            t.doubleColumn("peak MiB").append(mem == null ? Double.NaN : round(mem / (1024.0 * 1024), 1));
            t.doubleColumn("KV peak %").append(kv == null ? Double.NaN : round(kv.peakUtilization() * 100, 1));
        }
        return t;
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
