package dev.tinyrt.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * README tables of the memory analyses in data/results ({@code memory_*.json}, written by memory_analysis.java):
 * one row per analysis, standard against paged allocation over the same KV budget, measured.
 */
public final class MemorySection {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double MIB = 1024.0 * 1024;

    private MemorySection() {
    }

    /** Section {@code memory}: concurrency, slot use and throughput of standard vs paged runs, per analysis. */
    public static String pagedVsStandard(Path dir) {
        StringBuilder t = new StringBuilder();
        t.append("| model | backend | KV budget | workload | standard: max seqs, slots used | paged-16 | paged-32 "
                + "| paged-32 tok/s vs standard | planner checks (tok/s error) | machine | date | commit |\n");
        t.append("| --- | --- | ---: | --- | --- | --- | --- | ---: | --- | --- | --- | --- |\n");
        for (Path f : ResultTables.files(dir, "memory_")) {
            JsonNode n = read(f);
            JsonNode cmp = n.path("allocation_comparison");
            String budget = String.format(Locale.ROOT, "%.1f MiB (%s, %,d tokens)", cmp.path("budget_bytes").asDouble()
                    / MIB, n.path("breakdown").path("kv_cache").path("engine_dtype").asText(),
                    cmp.path("budget_bytes").asLong() / Math.max(1, cmp.path("bytes_per_token").asLong()));
            StringBuilder checks = new StringBuilder();
            for (JsonNode v : n.path("planner").path("verification")) {
                checks.append(checks.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%s %+.0f %%",
                        v.path("predicted").path("label").asText(), 100 * v.path("throughput_error").asDouble()));
            }
            for (String workload : new String[]{"lognormal", "dataset", "fixed"}) {
                JsonNode std = run(cmp, workload, "standard");
                JsonNode p16 = run(cmp, workload, "paged-16");
                JsonNode p32 = run(cmp, workload, "paged-32");
                if (std == null || p32 == null) {
                    continue;
                }
                t.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %d, %.0f %% | %s | %s | %.2f× | %s | %s | %s "
                                + "| `%s` |%n", n.path("model").path("name").asText(), n.path("backend").asText(), budget,
                        workload, std.path("max_concurrent").asInt(), 100 * std.path("utilization").asDouble(),
                        paged(p16, std), paged(p32, std), p32.path("output_tok_s").asDouble()
                                / std.path("output_tok_s").asDouble(), checks, machine(n), day(n), shortCommit(n)));
            }
        }
        return t.toString();
    }

    private static String paged(JsonNode r, JsonNode std) {
        if (r == null) {
            return "–";
        }
        return String.format(Locale.ROOT, "%d (%.1f×), %.0f %%", r.path("max_concurrent").asInt(),
                r.path("max_concurrent").asDouble() / std.path("max_concurrent").asDouble(),
                100 * r.path("utilization").asDouble());
    }

    private static JsonNode run(JsonNode cmp, String workload, String mode) {
        for (JsonNode r : cmp.path("runs")) {
            if (r.path("workload").asText().equals(workload) && r.path("mode").asText().equals(mode)) {
                return r;
            }
        }
        return null;
    }

    private static String machine(JsonNode n) {
        if (n.has("device")) {
            return n.path("device").path("name").asText();
        }
        return n.path("machine").path("cpu").asText() + ", " + n.path("machine").path("logical_cores").asInt()
                + " cores";
    }

    private static String day(JsonNode n) {
        String date = n.path("date").asText("");
        return date.length() >= 10 ? date.substring(0, 10) : date;
    }

    private static String shortCommit(JsonNode n) {
        String c = n.path("commit").asText("unknown");
        return c.length() > 8 ? c.substring(0, 8) : c;
    }

    private static JsonNode read(Path f) {
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new TinyrtException("cannot read result file " + f + ": " + e.getMessage(), e);
        }
    }
}
