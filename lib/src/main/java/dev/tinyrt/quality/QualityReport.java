package dev.tinyrt.quality;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;

/** Quality results as JSON (with provenance) and as a Markdown table. */
public final class QualityReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private QualityReport() {
    }

    /** {@code dir/quality_<name>_<UTC date>.json}, the name reduced to file-name-safe characters. */
    public static Path defaultFile(Path dir, String name) {
        String safe = name.replaceAll("[^A-Za-z0-9._-]+", "_");
        return dir.resolve("quality_" + safe + "_" + LocalDate.now(ZoneOffset.UTC) + ".json");
    }

    /**
     * The document written for a run: the provenance {@code run} (see {@code dev.tinyrt.bench.RunInfo}), the
     * settings, the timings and one entry per result under {@code "results"}.
     */
    public static ObjectNode document(ObjectNode run, QualityRun settings, QualityRun.Outcome outcome) {
        ObjectNode n = run.deepCopy();
        n.put("text", settings.text().toString());
        n.put("text_tokens", outcome.streamTokens());
        n.put("context_size", settings.contextSize());
        n.put("reference", settings.reference().label());
        n.put("reference_dir", settings.reference().directory().toString());
        n.put("reference_precision", settings.reference().precision().label());
        ObjectNode seconds = n.putObject("seconds");
        seconds.put("load", outcome.loadSeconds());
        seconds.put("tokenize", outcome.tokenizeSeconds());
        seconds.put("evaluate", outcome.evaluateSeconds());
        ArrayNode rows = n.putArray("results");
        int offset = settings.includeReference() ? 1 : 0;
        for (int i = 0; i < outcome.results().size(); i++) {
            ModelSpec spec = i < offset ? settings.reference() : settings.candidates().get(i - offset);
            ObjectNode row = toJson(outcome.results().get(i));
            row.put("model_dir", spec.directory().toString());
            row.put("precision", spec.precision().label());
            rows.add(row);
        }
        return n;
    }

    public static ObjectNode toJson(QualityResult r) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("label", r.label());
        n.put("reference", r.reference());
        n.put("context_size", r.contextSize());
        n.put("windows", r.windows());
        n.put("tokens_scored", r.tokensScored());
        n.set("ppl_reference", estimate(r.pplReference()));
        n.set("ppl", estimate(r.pplCandidate()));
        n.set("delta_ppl", estimate(r.deltaPpl()));
        n.set("ln_ppl_ratio", estimate(r.lnPplRatio()));
        n.set("ppl_ratio", estimate(r.pplRatio()));
        number(n, "ppl_correlation", r.pplCorrelation());
        n.set("kld_mean", estimate(r.meanKld()));
        n.set("kld", percentiles(r.kld()));
        n.set("same_top1_pct", estimate(r.sameTop().scaled(100)));
        n.set("delta_p_mean_pct", estimate(r.meanDeltaP().scaled(100)));
        n.set("delta_p_rms_pct", estimate(r.rmsDeltaP().scaled(100)));
        n.set("delta_p_pct", percentiles(scaled(r.deltaP(), 100)));
        return n;
    }

    /** Rows: model, PPL, ΔPPL, mean KLD, p99 KLD, same top-1 %, each with llama.cpp's ± where it has one. */
    public static String markdown(List<QualityResult> results) {
        ArrayNode rows = JsonNodeFactory.instance.arrayNode();
        results.forEach(r -> rows.add(toJson(r)));
        return markdown(rows);
    }

    /**
     * The same table from the {@code "results"} array of a written document, so README tables can be rebuilt from
     * data/results without rerunning anything. KLD is shown to three significant digits: it spans 1e-5 (bf16) to
     * 1e-1 (int4).
     */
    public static String markdown(JsonNode results) {
        StringBuilder t = new StringBuilder();
        t.append("| model | perplexity | ΔPPL | mean KLD | p99 KLD | same top-1 % | tokens |\n");
        t.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (JsonNode r : results) {
            t.append(String.format(Locale.ROOT, "| %s | %.4f ± %.4f | %+.4f ± %.4f | %s ± %s | %s | %.3f ± %.3f | %d |%n",
                    r.path("label").asText(), r.path("ppl").path("value").asDouble(),
                    r.path("ppl").path("uncertainty").asDouble(), r.path("delta_ppl").path("value").asDouble(),
                    r.path("delta_ppl").path("uncertainty").asDouble(), sig3(r.path("kld_mean").path("value")),
                    sig3(r.path("kld_mean").path("uncertainty")), sig3(r.path("kld").path("p99")),
                    r.path("same_top1_pct").path("value").asDouble(),
                    r.path("same_top1_pct").path("uncertainty").asDouble(), r.path("tokens_scored").asLong()));
        }
        return t.toString();
    }

    private static String sig3(JsonNode v) {
        double x = v.asDouble();
        return v.isNull() ? "n/a" : x == 0 ? "0" : String.format(Locale.ROOT, "%.3g", x);
    }

    /** The statistics llama.cpp prints at the end of a --kl-divergence run, for one result. */
    public static String summary(QualityResult r) {
        return String.format(Locale.ROOT, """
                %s vs %s: %d windows of %d tokens, %d tokens scored
                Mean PPL(Q)               : %10.6f ± %10.6f
                Mean PPL(base)            : %10.6f ± %10.6f
                Cor(ln PPL(Q), ln PPL(base)): %6.2f%%
                Mean ln(PPL(Q)/PPL(base)) : %10.6f ± %10.6f
                Mean PPL(Q)/PPL(base)     : %10.6f ± %10.6f
                Mean PPL(Q)-PPL(base)     : %10.6f ± %10.6f
                Mean    KLD: %10.6f ± %10.6f
                Maximum KLD: %10.6f
                99.9%%   KLD: %10.6f
                99.0%%   KLD: %10.6f
                95.0%%   KLD: %10.6f
                90.0%%   KLD: %10.6f
                Median  KLD: %10.6f
                Mean    Δp: %6.3f ± %5.3f %%
                RMS Δp    : %6.3f ± %5.3f %%
                Same top p: %6.3f ± %5.3f %%
                """, r.label(), r.reference(), r.windows(), r.contextSize(), r.tokensScored(),
                r.pplCandidate().value(), r.pplCandidate().uncertainty(), r.pplReference().value(),
                r.pplReference().uncertainty(), 100 * r.pplCorrelation(), r.lnPplRatio().value(),
                r.lnPplRatio().uncertainty(), r.pplRatio().value(), r.pplRatio().uncertainty(), r.deltaPpl().value(),
                r.deltaPpl().uncertainty(), r.meanKld().value(), r.meanKld().uncertainty(), r.kld().max(),
                r.kld().p99_9(), r.kld().p99(), r.kld().p95(), r.kld().p90(), r.kld().median(),
                100 * r.meanDeltaP().value(), 100 * r.meanDeltaP().uncertainty(), 100 * r.rmsDeltaP().value(),
                100 * r.rmsDeltaP().uncertainty(), 100 * r.sameTop().value(), 100 * r.sameTop().uncertainty());
    }

    public static void writeJson(Path file, ObjectNode document) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            JSON.writeValue(file.toFile(), document);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public static void writeText(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode estimate(Estimate e) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        number(n, "value", e.value());
        number(n, "uncertainty", e.uncertainty());
        return n;
    }

    private static ObjectNode percentiles(Percentiles p) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        number(n, "min", p.min());
        number(n, "p0.1", p.p0_1());
        number(n, "p1", p.p1());
        number(n, "p5", p.p5());
        number(n, "p10", p.p10());
        number(n, "p25", p.p25());
        number(n, "median", p.median());
        number(n, "p75", p.p75());
        number(n, "p90", p.p90());
        number(n, "p95", p.p95());
        number(n, "p99", p.p99());
        number(n, "p99.9", p.p99_9());
        number(n, "max", p.max());
        return n;
    }

    private static Percentiles scaled(Percentiles p, double f) {
        return new Percentiles(p.min() * f, p.p0_1() * f, p.p1() * f, p.p5() * f, p.p10() * f, p.p25() * f,
                p.median() * f, p.p75() * f, p.p90() * f, p.p95() * f, p.p99() * f, p.p99_9() * f, p.max() * f);
    }

    /** JSON has no NaN or infinity: those become null. */
    private static void number(ObjectNode n, String key, double v) {
        if (Double.isFinite(v)) {
            n.put(key, v);
        } else {
            n.putNull(key);
        }
    }
}
