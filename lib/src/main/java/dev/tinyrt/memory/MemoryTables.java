package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.Locale;

/**
 * Tablesaw tables of a memory analysis document (the JSON {@link MemoryAnalysis} writes): for notebooks
 * ({@code Notebook.table}) and, through {@link MarkdownTable}, for the Markdown report. Sizes are in MiB.
 */
public final class MemoryTables {
    static final double MIB = 1024.0 * 1024;

    private MemoryTables() {
    }

    /** Weights per precision, KV pool, activations and the process/device total: computed against measured. */
    public static Table breakdown(JsonNode doc) {
        Table t = Table.create("Memory breakdown: computed vs measured");
        StringColumn name = StringColumn.create("component");
        DoubleColumn computed = DoubleColumn.create("computed MiB");
        DoubleColumn measured = DoubleColumn.create("measured MiB");
        DoubleColumn diff = DoubleColumn.create("difference %");
        BooleanColumn agrees = BooleanColumn.create("within 5 %");
        StringColumn how = StringColumn.create("measured as / why they differ");
        java.util.List<JsonNode> rows = new java.util.ArrayList<>();
        doc.path("weights").forEach(rows::add);
        JsonNode b = doc.path("breakdown");
        rows.add(b.path("kv_cache").path("pool"));
        rows.add(b.path("activations"));
        rows.add(b.path("process_total"));
        for (JsonNode r : rows) {
            if (r.isMissingNode()) {
                continue;
            }
            String label = r.path("name").asText();
            if (r.has("loads") && !r.path("loads").asBoolean()) {
                label += " (not loadable yet)";
            }
            name.append(label);
            computed.append(round(r.path("computed_bytes").asDouble() / MIB, 2));
            measured.append(round(r.path("measured").path("bytes").asDouble() / MIB, 2));
            diff.append(round(100 * r.path("relative_difference").asDouble(), 1));
            agrees.append(r.path("agrees_within_5_percent").asBoolean());
            how.append(r.has("explanation") ? r.path("explanation").asText() : r.path("measured").path("how").asText());
        }
        return t.addColumns(name, computed, measured, diff, agrees, how);
    }

    /** Every paged/standard run: pool, concurrency, allocated vs used, fragmentation, throughput. */
    public static Table allocation(JsonNode doc) {
        return runs("Standard (contiguous, max_seq_len per sequence) vs paged allocation, same KV budget",
                doc.path("allocation_comparison").path("runs"));
    }

    public static Table prefixReuse(JsonNode doc) {
        return runs("Prefix reuse: " + doc.path("prefix_reuse").path("system_prompt_tokens").asInt()
                + "-token shared system prompt", doc.path("prefix_reuse").path("runs"));
    }

    static Table runs(String title, JsonNode runs) {
        Table t = Table.create(title);
        StringColumn workload = StringColumn.create("workload");
        StringColumn mode = StringColumn.create("mode");
        IntColumn blocks = IntColumn.create("blocks");
        IntColumn maxSeqs = IntColumn.create("max seqs");
        DoubleColumn meanSeqs = DoubleColumn.create("mean seqs");
        DoubleColumn allocated = DoubleColumn.create("allocated MiB (mean)");
        DoubleColumn used = DoubleColumn.create("used MiB (mean)");
        DoubleColumn perSeq = DoubleColumn.create("KiB / seq");
        DoubleColumn frag = DoubleColumn.create("unused slots %");
        DoubleColumn tps = DoubleColumn.create("output tok/s");
        IntColumn recomputed = IntColumn.create("recomputed tokens");
        StringColumn limit = StringColumn.create("limited by");
        for (JsonNode r : runs) {
            workload.append(r.path("workload").asText());
            mode.append(r.path("mode").asText());
            blocks.append(r.path("blocks").asInt());
            maxSeqs.append(r.path("max_concurrent").asInt());
            meanSeqs.append(round(r.path("mean_concurrent").asDouble(), 1));
            allocated.append(round(r.path("mean_allocated_bytes").asDouble() / MIB, 2));
            used.append(round(r.path("mean_used_bytes").asDouble() / MIB, 2));
            perSeq.append(round(r.path("allocated_bytes_per_sequence").asDouble() / 1024, 0));
            frag.append(r.path("prefix_caching").asBoolean() ? Double.NaN
                    : round(100 * r.path("internal_fragmentation").asDouble(), 1));
            tps.append(round(r.path("output_tok_s").asDouble(), 1));
            recomputed.append(r.path("recomputed_prompt_tokens").asInt());
            limit.append(r.path("limited_by").asText());
        }
        return t.addColumns(workload, mode, blocks, maxSeqs, meanSeqs, allocated, used, perSeq, frag, tps,
                recomputed, limit);
    }

    public static Table kvDtypes(JsonNode doc) {
        boolean measured = doc.path("kv_quantization").path("measured").asBoolean();
        Table t = Table.create(measured ? "KV-cache dtypes in the same budget (pools allocated by the engine and "
                + "measured; scheduled on the proxy)" : "KV-cache dtypes in the same budget (computed; scheduled on "
                + "the proxy)");
        StringColumn dtype = StringColumn.create("KV dtype");
        IntColumn bpt = IntColumn.create("bytes / token");
        IntColumn engineBpt = IntColumn.create("engine bytes / token");
        DoubleColumn enginePool = DoubleColumn.create("engine pool MiB");
        DoubleColumn pool = DoubleColumn.create("measured pool MiB");
        DoubleColumn poolDiff = DoubleColumn.create("difference %");
        IntColumn tokens = IntColumn.create("tokens in budget");
        DoubleColumn gain = DoubleColumn.create("capacity × engine");
        IntColumn maxSeqs = IntColumn.create("max seqs");
        BooleanColumn stored = BooleanColumn.create("engine stores it");
        StringColumn why = StringColumn.create("why the pool differs");
        for (JsonNode r : doc.path("kv_quantization").path("dtypes")) {
            dtype.append(r.path("dtype").asText());
            bpt.append(r.path("bytes_per_token").asInt());
            if (r.has("engine_bytes_per_token")) {
                engineBpt.append(r.path("engine_bytes_per_token").asInt());
                double engine = r.path("engine_pool_bytes").asDouble();
                double measuredPool = r.path("measured_pool").path("bytes").asDouble();
                enginePool.append(round(engine / MIB, 2));
                pool.append(round(measuredPool / MIB, 2));
                poolDiff.append(round(100 * (measuredPool - engine) / engine, 1));
            } else {
                engineBpt.appendMissing();
                enginePool.appendMissing();
                pool.appendMissing();
                poolDiff.appendMissing();
            }
            why.append(r.path("pool_explanation").asText(""));
            tokens.append(r.path("tokens_in_budget").asInt());
            gain.append(round(r.path("capacity_vs_engine").asDouble(), 2));
            maxSeqs.append(r.path("max_concurrent").asInt());
            stored.append(r.path("engine_stores_it").asBoolean());
        }
        return t.addColumns(dtype, bpt, engineBpt, enginePool, pool, poolDiff, tokens, gain, maxSeqs, stored, why);
    }

    /** The planner's predictions next to the runs made to check them. */
    public static Table plannerCheck(JsonNode doc) {
        Table t = Table.create("Capacity planner vs measured runs");
        StringColumn label = StringColumn.create("budget");
        DoubleColumn kv = DoubleColumn.create("KV MiB");
        IntColumn pMax = IntColumn.create("predicted max seqs");
        IntColumn mMax = IntColumn.create("measured max seqs");
        DoubleColumn pTps = DoubleColumn.create("predicted tok/s");
        DoubleColumn mTps = DoubleColumn.create("measured tok/s");
        DoubleColumn err = DoubleColumn.create("throughput error %");
        BooleanColumn same = BooleanColumn.create("same schedule");
        StringColumn limit = StringColumn.create("limited by");
        for (JsonNode v : doc.path("planner").path("verification")) {
            JsonNode p = v.path("predicted");
            JsonNode m = v.path("measured");
            label.append(p.path("label").asText());
            kv.append(round(p.path("kv_budget_bytes").asDouble() / MIB, 2));
            pMax.append(p.path("max_concurrent").asInt());
            mMax.append(m.path("max_concurrent").asInt());
            pTps.append(round(p.path("predicted_output_tok_s").asDouble(), 1));
            mTps.append(round(m.path("output_tok_s").asDouble(), 1));
            err.append(round(100 * v.path("throughput_error").asDouble(), 1));
            same.append(v.path("identical_schedule").asBoolean());
            limit.append(p.path("limited_by").asText());
        }
        return t.addColumns(label, kv, pMax, mMax, pTps, mTps, err, same, limit);
    }

    public static Table plannerAnswers(JsonNode doc) {
        Table t = Table.create("Capacity planner answers");
        StringColumn label = StringColumn.create("memory");
        DoubleColumn kv = DoubleColumn.create("KV GiB");
        IntColumn tokens = IntColumn.create("KV tokens");
        IntColumn maxSeqs = IntColumn.create("max seqs");
        DoubleColumn meanSeqs = DoubleColumn.create("mean seqs");
        StringColumn limit = StringColumn.create("limited by");
        DoubleColumn tps = DoubleColumn.create("predicted tok/s");
        for (JsonNode a : doc.path("planner").path("answers")) {
            if (a.has("error")) {
                continue;  // the memory does not hold the model at all: said in the report's text
            }
            label.append(a.path("label").asText());
            kv.append(round(a.path("kv_budget_bytes").asDouble() / (MIB * 1024), 2));
            tokens.append(a.path("kv_tokens").asInt());
            maxSeqs.append(a.path("max_concurrent").asInt());
            meanSeqs.append(round(a.path("mean_concurrent").asDouble(), 1));
            limit.append(a.path("limited_by").asText());
            tps.append(round(a.path("predicted_output_tok_s").asDouble(), 1));
        }
        return t.addColumns(label, kv, tokens, maxSeqs, meanSeqs, limit, tps);
    }

    static double round(double v, int digits) {
        if (!Double.isFinite(v)) {
            return v;
        }
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / MIB);
    }
}
