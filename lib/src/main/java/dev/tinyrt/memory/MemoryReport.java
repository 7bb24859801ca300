package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.notebook.PlotlyJs;
import tech.tablesaw.plotly.components.Figure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Markdown report of a memory analysis, with its charts as HTML (plotly.js inlined) and PNG, all generated
 * from the JSON document alone, so a document measured elsewhere (the GPU machine) is rendered here.
 */
public final class MemoryReport {
    private MemoryReport() {
    }

    /**
     * Writes {@code memory_report.md} and the charts into {@code dir}: HTML pages (kept when {@code html}) and
     * PNGs (when {@code png} and Chromium is installed). Returns the report file.
     */
    public static Path write(JsonNode doc, Path dir, boolean png, boolean html) {
        PlotlyJs plotly = PlotlyJs.locate();
        dev.tinyrt.report.ChromiumPng chromium = png ? ChartFiles.chromium().orElse(null) : null;
        if (!html && chromium == null) {
            throw new TinyrtException("no chart would be kept: PNGs need chromium on PATH; keep the HTML charts");
        }
        Map<String, Figure> charts = MemoryCharts.all(doc);
        try {
            Files.createDirectories(dir);
            Path pages = html ? dir : Files.createTempDirectory("tinyrt-charts-");
            for (var e : charts.entrySet()) {
                Path page = ChartFiles.html(e.getValue(), pages, e.getKey(), plotly);
                if (chromium != null) {
                    ChartFiles.png(chromium, page, dir.resolve(e.getKey() + ".png"));
                }
                if (!html) {
                    Files.delete(page);
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot write charts into " + dir + ": " + e.getMessage(), e);
        }
        Path file = dir.resolve("memory_report.md");
        try {
            Files.writeString(file, markdown(doc, chromium != null, html), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    public static String markdown(JsonNode doc, boolean pngs, boolean html) {
        StringBuilder md = new StringBuilder();
        JsonNode model = doc.path("model");
        JsonNode cmp = doc.path("allocation_comparison");
        String device = doc.has("device") ? doc.path("device").path("name").asText()
                : doc.path("machine").path("cpu").asText() + ", " + doc.path("machine").path("logical_cores").asInt()
                + " cores";
        md.append("# Memory analysis: ").append(model.path("name").asText()).append(" on ")
                .append(doc.path("backend").asText()).append("\n\n");
        md.append(String.format(Locale.ROOT, "Measured on %s, %s, commit `%s`%s, with `%s`. %s layers, %d kv heads "
                        + "× head_dim %d, context %d, %,d parameters. Timings are noisy: the machine is shared "
                        + "and loaded; memory figures are not.%n%n", device, day(doc),
                shortCommit(doc), doc.path("worktree_clean").asBoolean(true) ? "" : " (uncommitted changes)",
                doc.path("command").asText(), model.path("layers").asText(), model.path("kv_heads").asInt(),
                model.path("head_dim").asInt(), model.path("max_position_embeddings").asInt(),
                model.path("parameters").asLong()));

        md.append("## 1. Breakdown: computed and measured\n\n");
        JsonNode kv = doc.path("breakdown").path("kv_cache");
        md.append(String.format(Locale.ROOT, "KV cache per token = 2 × %d layers × %d kv heads × %d head_dim × "
                        + "element bytes: the %s engine stores %s, %,d bytes per token (formula: %,d).", model.path(
                        "layers").asInt(), model.path("kv_heads").asInt(), model.path("head_dim").asInt(),
                doc.path("backend").asText(), kv.path("engine_dtype").asText(), kv.path("engine_bytes_per_token").asLong(),
                kv.path("computed_bytes_per_token").asLong()));
        md.append(" Other dtypes:");
        for (JsonNode d : kv.path("bytes_per_token_by_dtype")) {
            md.append(String.format(Locale.ROOT, " %s %,d B", d.path("dtype").asText(), d.path("bytes_per_token")
                    .asLong()));
        }
        md.append(String.format(Locale.ROOT, ". A difference above %d %% is explained in the last column.%n%n",
                Component.TOLERANCE_PERCENT));
        md.append(MarkdownTable.render(MemoryTables.breakdown(doc))).append('\n');
        md.append(chart("memory_per_precision", "Memory per weight precision", pngs, html));

        md.append("## 2. Standard (contiguous) vs paged allocation, by running both\n\n");
        md.append(standardCheck(cmp)).append("\n\n");
        md.append(headline(cmp)).append(" ").append(batchingBound(doc)).append("\n\n");
        md.append(MarkdownTable.render(MemoryTables.allocation(doc))).append('\n');
        md.append("*limited by*: what kept requests waiting — KV-cache memory, max_batch_size, or nothing (all "
                + "requests ran at once, so max seqs is the workload's size). ");
        md.append("*unused slots* = 1 − tokens held / token slots allocated, averaged over the run's time (internal "
                + "fragmentation); *recomputed tokens* are prompt tokens computed again after a preemption "
                + "(paged runs admit while the prompt fits and preempt the newest sequence when blocks run out; "
                + "`-no-evict` reserves a request's whole length at admission, TensorRT-LLM's default).\n\n");
        md.append(chart("paged_vs_standard", "Allocated vs used KV memory", pngs, html));
        md.append(chart("concurrency_vs_budget", "Max concurrency vs KV budget", pngs, html));

        md.append("## 3. The KV cache over time\n\n");
        md.append("Blocks in use (allocated) and tokens held (used) at every executor step of the lognormal runs "
                + "and of the prefix-reuse runs.\n\n");
        md.append(chart("kv_over_time", "KV memory over time", pngs, html));

        md.append("## 4. Prefix reuse\n\n");
        md.append(prefix(doc.path("prefix_reuse"))).append("\n\n");
        md.append(MarkdownTable.render(MemoryTables.prefixReuse(doc))).append('\n');

        md.append("## 5. Quantized KV cache\n\n");
        JsonNode kvq = doc.path("kv_quantization");
        md.append(kvq.has("how") ? kvq.path("how").asText() : kvq.path("why_not_measured").asText()).append(" ")
                .append(kvq.path("quality").path("note").asText("")).append(kvQuality(kvq.path("quality")))
                .append("\n\n");
        md.append(MarkdownTable.render(MemoryTables.kvDtypes(doc))).append('\n');

        md.append("## 6. Capacity planner\n\n");
        JsonNode sm = doc.path("planner").path("step_model");
        md.append(String.format(Locale.ROOT, "Memory left after weights, activations and the runtime's own "
                        + "overhead (%s) becomes the KV pool; the real executor schedules the workload over it on a "
                        + "proxy model (same token counts, negligible compute); a step-time model fitted on the "
                        + "measured runs (%s; R² %.3f: %.0f µs per step + %.1f µs per prefill token + %.1f µs per "
                        + "decoded token + %.3f µs per held token, × %.3f for gaps between steps) gives the time. "
                        + "Checked against real runs at other budgets:%n%n",
                doc.path("planner").path("fixed_bytes_how").asText(), sm.path("fitted_on").asText(),
                sm.path("r_squared").asDouble(), sm.path("fixed_ns").asDouble() / 1e3,
                sm.path("per_prefill_token_ns").asDouble() / 1e3, sm.path("per_decode_token_ns").asDouble() / 1e3,
                sm.path("per_context_token_ns").asDouble() / 1e3, sm.path("overhead").asDouble()));
        md.append(MarkdownTable.render(MemoryTables.plannerCheck(doc))).append('\n');
        if (!doc.path("planner").path("answers").isEmpty()) {
            md.append(MarkdownTable.render(MemoryTables.plannerAnswers(doc))).append('\n');
        }
        return md.toString();
    }

    /** The numbers that show one block of max_seq_len per sequence is preallocation to max_seq_len. */
    static String standardCheck(JsonNode cmp) {
        StringBuilder s = new StringBuilder(cmp.path("standard_emulation").asText()).append(".");
        long budget = cmp.path("budget_bytes").asLong();
        long bpt = cmp.path("bytes_per_token").asLong();
        int maxSeqLen = cmp.path("max_seq_len").asInt();
        for (JsonNode r : cmp.path("runs")) {
            if (!r.path("allocation").asText().equals("standard")) {
                continue;
            }
            long capacity = budget / (maxSeqLen * bpt);
            s.append(String.format(Locale.ROOT, " Verified on the %s run: each sequence took one %,d-byte block "
                            + "(%d tokens × %,d B) when admitted; blocks in use exceeded the sequences of a step in %d "
                            + "of %d steps (equal in %d; in the others a sequence finished and returned its block), "
                            + "and at most %d sequences ran at once = ⌊budget / (max_seq_len × bytes per token)⌋ = "
                            + "⌊%,d / %,d⌋ = %d%s.", r.path("workload").asText(), maxSeqLen * bpt, maxSeqLen, bpt,
                    r.path("steps_more_blocks_than_sequences").asInt(), r.path("steps").asInt(),
                    r.path("steps_one_block_per_sequence").asInt(), r.path("max_concurrent").asInt(), budget,
                    maxSeqLen * bpt, capacity,
                    r.path("max_concurrent").asInt() == Math.min(capacity, r.path("requests").asInt())
                            && r.path("steps_more_blocks_than_sequences").asInt() == 0 ? "" : " (MISMATCH)"));
        }
        return s.toString();
    }

    /** "Paged fits N× more sequences", from the runs. */
    static String headline(JsonNode cmp) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "Same KV budget (%.2f MiB, %,d tokens) for "
                        + "every run; from the runs:", cmp.path("budget_bytes").asDouble() / MemoryTables.MIB,
                cmp.path("budget_bytes").asLong() / cmp.path("bytes_per_token").asLong()));
        java.util.Map<String, JsonNode> standard = new java.util.LinkedHashMap<>();
        for (JsonNode r : cmp.path("runs")) {
            if (r.path("allocation").asText().equals("standard")) {
                standard.put(r.path("workload").asText(), r);
            }
        }
        for (JsonNode r : cmp.path("runs")) {
            JsonNode std = standard.get(r.path("workload").asText());
            if (std == null || !r.path("mode").asText().equals("paged-16") && !r.path("mode").asText().equals("paged-32")) {
                continue;
            }
            s.append(String.format(Locale.ROOT, " %s %s ran %.1f× the sequences at once (max %d vs %d, mean %.1f vs "
                            + "%.1f) with %.0f %% of allocated slots used (standard %.0f %%) at %.2f× the output "
                            + "throughput;", r.path("workload").asText(), r.path("mode").asText(),
                    r.path("max_concurrent").asDouble() / std.path("max_concurrent").asDouble(),
                    r.path("max_concurrent").asInt(), std.path("max_concurrent").asInt(),
                    r.path("mean_concurrent").asDouble(), std.path("mean_concurrent").asDouble(),
                    100 * r.path("utilization").asDouble(), 100 * std.path("utilization").asDouble(),
                    r.path("output_tok_s").asDouble() / std.path("output_tok_s").asDouble()));
        }
        s.setLength(s.length() - 1);
        return s.append('.').toString();
    }

    /**
     * How much throughput batching can buy on this machine, by the step-time model: a step costs a fixed part plus
     * a part per decoded token, and only the fixed part is shared by the sequences of a step.
     */
    static String batchingBound(JsonNode doc) {
        JsonNode sm = doc.path("planner").path("step_model");
        double fixed = sm.path("fixed_ns").asDouble();
        double perToken = sm.path("per_decode_token_ns").asDouble();
        JsonNode std = null;
        JsonNode paged = null;
        for (JsonNode r : doc.path("allocation_comparison").path("runs")) {
            if (r.path("workload").asText().equals(doc.path("concurrency_sweep").path("workload").asText())) {
                if (r.path("mode").asText().equals("standard")) {
                    std = r;
                } else if (r.path("mode").asText().equals("paged-32")) {
                    paged = r;
                }
            }
        }
        if (std == null || paged == null || perToken <= 0 || fixed <= 0) {
            return "";
        }
        double a = std.path("mean_concurrent").asDouble();
        double b = paged.path("mean_concurrent").asDouble();
        double bound = (fixed / a + perToken) / (fixed / b + perToken);
        return String.format(Locale.ROOT, "Throughput: by the step-time model fitted on these runs (section 6) a "
                        + "step costs %.0f µs plus %.0f µs per decoded token, and only the fixed part is shared, so "
                        + "going from %.1f to %.1f sequences per step (standard to paged-32, means) can raise decode "
                        + "throughput by at most %.2f× here; measured differences beyond that are the shared "
                        + "machine's load changing between runs.", fixed / 1e3, perToken / 1e3, a, b, bound);
    }

    static String prefix(JsonNode p) {
        JsonNode off = null;
        JsonNode on = null;
        for (JsonNode r : p.path("runs")) {
            if (r.path("prefix_caching").asBoolean()) {
                on = r;
            } else {
                off = r;
            }
        }
        if (off == null || on == null) {
            return "";
        }
        double saved = off.path("allocated_bytes_per_sequence").asDouble()
                - on.path("allocated_bytes_per_sequence").asDouble();
        long blockBytes = on.path("tokens_per_block").asLong() * on.path("bytes_per_token").asLong();
        long systemBlocks = p.path("system_prompt_tokens").asLong() / on.path("tokens_per_block").asLong();
        return String.format(Locale.ROOT, "Every request starts with the same %d-token system prompt (%d full blocks "
                        + "of %,d bytes); a warm-up request computes it first, as a system prompt served before "
                        + "would. With prefix caching the sequences held %.0f KiB of KV each on average instead of "
                        + "%.0f KiB: %.0f KiB less per sequence (unshared, the system prompt's full blocks are %,d KiB of "
                        + "every sequence), %d prompt blocks came from the cache (readmissions after a preemption "
                        + "count again), up to %d blocks were shared at once, and %.1f× the sequences "
                        + "ran at once (max %d vs %d) at %.2f× the throughput.",
                p.path("system_prompt_tokens").asInt(), systemBlocks, blockBytes,
                on.path("allocated_bytes_per_sequence").asDouble() / 1024,
                off.path("allocated_bytes_per_sequence").asDouble() / 1024, saved / 1024,
                systemBlocks * blockBytes / 1024, on.path("prefix_hit_blocks").asInt(),
                on.path("peak_shared_blocks").asInt(),
                on.path("max_concurrent").asDouble() / off.path("max_concurrent").asDouble(),
                on.path("max_concurrent").asInt(), off.path("max_concurrent").asInt(),
                on.path("output_tok_s").asDouble() / off.path("output_tok_s").asDouble());
    }

    private static String chart(String name, String title, boolean png, boolean html) {
        String image = png ? "![" + title + "](" + name + ".png)\n\n" : "";
        String link = !html ? "" : png ? "[interactive](" + name + ".html)\n\n"
                : "[" + title + " (interactive)](" + name + ".html)\n\n";
        return image + link;
    }

    static String day(JsonNode doc) {
        String d = doc.path("date").asText("");
        return d.length() >= 10 ? d.substring(0, 10) : d;
    }

    static String shortCommit(JsonNode doc) {
        String c = doc.path("commit").asText("unknown");
        return c.length() > 8 ? c.substring(0, 8) : c;
    }

    /** The quality_eval results of an int8/fp8 KV cache the analysis found, as one sentence (empty when none). */
    static String kvQuality(JsonNode quality) {
        List<String> parts = new ArrayList<>();
        for (JsonNode r : quality.path("results")) {
            parts.add(String.format(Locale.ROOT, "%s: perplexity ×%.4f, mean KLD %.2e, same top-1 %.1f %% (%s)",
                    r.path("label").asText(), r.path("ppl_ratio").asDouble(), r.path("kld_mean").asDouble(),
                    r.path("same_top1_pct").asDouble(), r.path("file").asText()));
        }
        return parts.isEmpty() ? "" : "Quality cost against the unquantized cache, from quality_eval results: "
                + String.join("; ", parts) + ".";
    }
}
