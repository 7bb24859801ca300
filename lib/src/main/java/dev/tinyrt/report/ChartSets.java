package dev.tinyrt.report;

import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.PointResult;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Groups benchmark results for charts and tables: one set per machine (GPU, else CPU) and model, so precisions
 * or input lengths measured in separate runs of the same machine land on one chart. Where two runs measured the
 * same point (system label, batch size, concurrency, lengths), the newer run's result is kept.
 */
public final class ChartSets {
    /** One point with the run it came from (speed-ups compare points of the same run only). */
    public record Row(BenchmarkReport report, PointResult point) {
        public String label() {
            return point.label();
        }
    }

    public record ChartSet(String key, String machine, String model, List<Row> rows) {
    }

    private ChartSets() {
    }

    public static List<ChartSet> of(List<BenchmarkReport> reports) {
        Map<String, List<BenchmarkReport>> byKey = new LinkedHashMap<>();
        List<BenchmarkReport> sorted = new ArrayList<>(reports);
        sorted.sort(Comparator.comparing(r -> r.date() == null ? "" : r.date()));
        for (BenchmarkReport r : sorted) {
            byKey.computeIfAbsent(key(r), k -> new ArrayList<>()).add(r);
        }
        List<ChartSet> sets = new ArrayList<>();
        byKey.forEach((key, runs) -> {
            Map<String, Row> byPoint = new LinkedHashMap<>();
            for (BenchmarkReport r : runs) {
                for (PointResult p : r.results()) {
                    byPoint.put(pointKey(p), new Row(r, p));  // a newer run replaces an older one's point
                }
            }
            sets.add(new ChartSet(key, machine(runs.getLast()), runs.getLast().model().name(),
                    List.copyOf(byPoint.values())));
        });
        return sets;
    }

    /** What makes two results the same measurement: system label, batch size, concurrency and lengths. */
    static String pointKey(PointResult p) {
        return p.label() + "|" + p.batchSize() + "|" + p.concurrency() + "|" + p.inputLen() + "|" + p.outputLen();
    }

    /** {@code wanted} when some point of the set has it, else the smallest value present. */
    public static int preferred(List<Row> rows, java.util.function.ToIntFunction<PointResult> f, int wanted) {
        return rows.stream().mapToInt(r -> f.applyAsInt(r.point())).anyMatch(v -> v == wanted) ? wanted
                : rows.stream().mapToInt(r -> f.applyAsInt(r.point())).min().orElse(wanted);
    }

    public static String machine(BenchmarkReport r) {
        return r.gpu() != null ? r.gpu().name() : r.machine().path("cpu").asText("cpu");
    }

    static String key(BenchmarkReport r) {
        return slug(machine(r)) + "_" + slug(r.model().name());
    }

    static String slug(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("\\(r\\)|\\(tm\\)", "").replaceAll("[^a-z0-9.]+", "-")
                .replaceAll("^-+|-+$", "");
    }
}
