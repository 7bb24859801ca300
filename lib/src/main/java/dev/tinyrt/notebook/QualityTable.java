package dev.tinyrt.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tinyrt.TinyrtException;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.util.List;

/**
 * Quality documents — what {@code quality_eval.java} and {@code quality_table.java} write, and
 * {@code data/results/quality_*.json} holds — as one Tablesaw table with a row per result: the columns of
 * {@link dev.tinyrt.quality.QualityReport#markdown(JsonNode)}, each ± in a column of its own so it can be charted.
 */
public final class QualityTable {
    private QualityTable() {
    }

    public static Table of(String title, List<JsonNode> documents) {
        Table t = Table.create(title, StringColumn.create("model"), StringColumn.create("reference"),
                IntColumn.create("context"), IntColumn.create("tokens scored"), DoubleColumn.create("perplexity"),
                DoubleColumn.create("PPL ±"), DoubleColumn.create("ΔPPL"), DoubleColumn.create("ΔPPL ±"),
                DoubleColumn.create("mean KLD"), DoubleColumn.create("KLD ±"), DoubleColumn.create("p99 KLD"),
                DoubleColumn.create("same top-1 %"), DoubleColumn.create("top-1 ±"));
        for (JsonNode doc : documents) {
            JsonNode results = doc.path("results");
            if (!results.isArray() || results.isEmpty()) {
                throw new TinyrtException("not a quality document (no \"results\" array): "
                        + doc.path("command").asText("no command recorded"));
            }
            for (JsonNode r : results) {
                t.stringColumn("model").append(r.path("label").asText());
                t.stringColumn("reference").append(r.path("reference").asText());
                t.intColumn("context").append(r.path("context_size").asInt());
                t.intColumn("tokens scored").append(r.path("tokens_scored").asInt());
                estimate(t, "perplexity", "PPL ±", r.path("ppl"));
                estimate(t, "ΔPPL", "ΔPPL ±", r.path("delta_ppl"));
                estimate(t, "mean KLD", "KLD ±", r.path("kld_mean"));
                t.doubleColumn("p99 KLD").append(number(r.path("kld").path("p99")));
                estimate(t, "same top-1 %", "top-1 ±", r.path("same_top1_pct"));
            }
        }
        return t;
    }

    private static void estimate(Table t, String value, String uncertainty, JsonNode estimate) {
        t.doubleColumn(value).append(number(estimate.path("value")));
        t.doubleColumn(uncertainty).append(number(estimate.path("uncertainty")));
    }

    /** A missing or null number (a correlation of constant values is written as null) reads as NaN: an empty cell. */
    private static double number(JsonNode n) {
        return n.isNumber() ? n.asDouble() : Double.NaN;
    }
}
