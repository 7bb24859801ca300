package dev.tinyrt.report;

import dev.tinyrt.bench.BenchmarkJson;
import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.PointResult;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The README's performance table, from data/results/benchmark_*.json alone: per machine and model, one row per
 * system and precision with output tokens/s at each batch size (median over repeats, min–max), TTFT and TPOT at
 * the smallest batch, peak memory, and the speed-up over HF eager at the largest batch measured in the same run.
 */
public final class BenchmarkMarkdown {
    public static final String FILE_PREFIX = "benchmark_";

    private BenchmarkMarkdown() {
    }

    public static List<BenchmarkReport> readAll(Path resultsDir) {
        return ResultTables.files(resultsDir, FILE_PREFIX).stream().map(BenchmarkJson::read).toList();
    }

    public static String section(Path resultsDir) {
        return section(readAll(resultsDir));
    }

    public static String section(List<BenchmarkReport> reports) {
        List<ChartSets.ChartSet> sets = ChartSets.of(reports);
        if (sets.isEmpty()) {
            return "_No benchmark results committed yet: `jbang jbang-scripts/benchmark.java --out-dir data/results`"
                    + " writes one._\n";
        }
        StringBuilder md = new StringBuilder();
        for (ChartSets.ChartSet set : sets) {
            md.append(table(set)).append('\n');
        }
        return md.toString().stripTrailing() + "\n";
    }

    static String table(ChartSets.ChartSet set) {
        List<ChartSets.Row> rows = set.rows();
        int input = ChartSets.preferred(rows, PointResult::inputLen, 128);
        int batch = ChartSets.preferred(rows, PointResult::batchSize, 1);
        TreeSet<Integer> batches = new TreeSet<>();
        rows.stream().filter(r -> r.point().inputLen() == input).forEach(r -> batches.add(r.point().batchSize()));
        Map<String, List<ChartSets.Row>> byLabel = new LinkedHashMap<>();
        for (ChartSets.Row r : rows) {
            byLabel.computeIfAbsent(r.label(), k -> new ArrayList<>()).add(r);
        }
        int output = rows.getFirst().point().outputLen();
        StringBuilder t = new StringBuilder();
        t.append("**").append(set.model()).append(" on ").append(set.machine()).append("** — input ").append(input)
                .append(", output ").append(output).append(" tokens; output tokens/s, median of runs (min–max)\n\n");
        t.append("| system | ");
        for (int b : batches) {
            t.append("batch ").append(b).append(" | ");
        }
        boolean hf = rows.stream().anyMatch(r -> r.point().system().equals("hf"));
        t.append("TTFT ms (batch ").append(batch).append(") | TPOT ms (batch ").append(batch)
                .append(") | peak memory |").append(hf ? " vs HF (batch " + batches.last() + ") |" : "").append('\n');
        t.append("| --- |").append(" ---: |".repeat(batches.size() + (hf ? 4 : 3))).append('\n');
        for (var e : byLabel.entrySet()) {
            t.append("| ").append(e.getKey()).append(" | ");
            for (int b : batches) {
                t.append(find(e.getValue(), b, input).map(r -> Format.median(r.point().summary()
                        .systemOutputThroughputTokS())).orElse("–")).append(" | ");
            }
            Optional<ChartSets.Row> small = find(e.getValue(), batch, input);
            t.append(small.map(r -> Format.sig(r.point().summary().avgTtftMs().median())).orElse("–")).append(" | ");
            t.append(small.map(r -> Format.sig(r.point().summary().avgTpotMs().median())).orElse("–")).append(" | ");
            t.append(Format.mib(e.getValue().stream().map(r -> r.point().memory().headlineBytes())
                    .filter(java.util.Objects::nonNull).max(Long::compare).orElse(null))).append(" |");
            if (hf) {
                t.append(' ').append(find(e.getValue(), batches.last(), input).flatMap(BenchmarkMarkdown::speedup)
                        .orElse("–")).append(" |");
            }
            t.append('\n');
        }
        t.append('\n').append(sources(set)).append('\n');
        return t.toString();
    }

    private static Optional<ChartSets.Row> find(List<ChartSets.Row> rows, int batch, int input) {
        return rows.stream().filter(r -> r.point().batchSize() == batch && r.point().inputLen() == input).findFirst();
    }

    /** tinyrt's output throughput over HF's on the same point of the same run. */
    private static Optional<String> speedup(ChartSets.Row row) {
        PointResult p = row.point();
        if (!p.system().equals("tinyrt")) {
            return Optional.empty();
        }
        return row.report().results().stream().filter(h -> h.system().equals("hf") && h.batchSize() == p.batchSize()
                        && h.concurrency() == p.concurrency() && h.inputLen() == p.inputLen()
                        && h.outputLen() == p.outputLen()).findFirst()
                .map(h -> String.format(Locale.ROOT, "%.2f×", p.summary().systemOutputThroughputTokS().median()
                        / h.summary().systemOutputThroughputTokS().median()));
    }

    /** Which runs the table comes from: date, commit, whether the tree was clean, and the command. */
    private static String sources(ChartSets.ChartSet set) {
        List<BenchmarkReport> runs = set.rows().stream().map(ChartSets.Row::report).distinct()
                .sorted(Comparator.comparing(BenchmarkReport::date)).toList();
        StringBuilder s = new StringBuilder();
        for (BenchmarkReport r : runs) {
            String commit = r.commit() == null ? "unknown" : r.commit().substring(0, Math.min(8, r.commit().length()));
            s.append("Measured ").append(r.date(), 0, Math.min(10, r.date().length())).append(" at `").append(commit)
                    .append(Boolean.TRUE.equals(r.worktreeClean()) ? "" : " (uncommitted changes)").append("` with `")
                    .append(r.command()).append("`").append(r.gpu() != null ? ", driver " + r.gpu().driver() : "")
                    .append(".  \n");
        }
        String charts = "docs/charts/" + set.key() + "/";
        s.append("Charts in [`").append(charts).append("`](").append(charts).append(") (PNG; `jbang "
                + "jbang-scripts/report.java` also writes the interactive benchmark.html there):\n\n![output tokens/s vs batch size](").append(charts)
                .append("throughput_vs_batch.png)\n");
        return s.toString();
    }
}
