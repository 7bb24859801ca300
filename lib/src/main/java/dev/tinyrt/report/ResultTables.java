package dev.tinyrt.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/** Markdown tables for the README, built only from the JSON files in data/results. */
public final class ResultTables {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ResultTables() {
    }

    /** Every generated README section, by name. */
    public static Map<String, String> all(Path resultsDir) {
        Map<String, String> sections = new LinkedHashMap<>();
        sections.put("hf-parity", parity(resultsDir));
        sections.put("cpu-speed", cpuSpeed(resultsDir));
        sections.put("benchmark", BenchmarkMarkdown.section(resultsDir));
        sections.put("memory", MemorySection.pagedVsStandard(resultsDir));
        sections.put("quality", QualitySection.section(resultsDir));
        sections.put("cuda-decode", CudaDecodeSection.section(resultsDir));
        return sections;
    }

    static String parity(Path dir) {
        StringBuilder t = new StringBuilder();
        t.append("| checkpoint | prompts | tokens | worst error / max\\|logit\\| | greedy continuations | date | commit |\n");
        t.append("| --- | ---: | --- | ---: | --- | --- | --- |\n");
        for (Path f : files(dir, "hf_parity_cpu_")) {
            JsonNode n = read(f);
            List<String> lengths = new ArrayList<>();
            boolean greedy = true;
            for (JsonNode p : n.path("prompts")) {
                lengths.add(p.path("tokens").asText());
                greedy &= p.path("greedy_identical").asBoolean();
            }
            String name = f.getFileName().toString().replaceFirst("^hf_parity_cpu_", "").replaceFirst("\\.json$", "");
            t.append(String.format(Locale.ROOT, "| `%s` | %d | %s | %.1e | %s | %s | `%s` |%n", name,
                    n.path("prompts").size(), String.join(", ", lengths), n.path("worst_relative_error").asDouble(),
                    greedy ? "identical (24 tokens each)" : "DIFFER", day(n), shortCommit(n)));
        }
        return t.toString();
    }

    static String cpuSpeed(Path dir) {
        StringBuilder t = new StringBuilder();
        t.append("| model | weights | threads | prefill tok/s (prompt length) | decode tok/s | machine | date | commit |\n");
        t.append("| --- | --- | ---: | --- | ---: | --- | --- | --- |\n");
        for (Path f : files(dir, "cpu_speed")) {
            JsonNode n = read(f);
            List<String> prefill = new ArrayList<>();
            for (JsonNode p : n.path("prefill")) {
                prefill.add(String.format(Locale.ROOT, "%.0f (%d)", p.path("tokens_per_s").path("median").asDouble(),
                        p.path("input_len").asInt()));
            }
            JsonNode d = n.path("decode").path("tokens_per_s");
            t.append(String.format(Locale.ROOT, "| %s | %s, %.2f GB | %d | %s | %.1f (%.1f–%.1f) | %s, %d cores | %s | `%s` |%n",
                    n.path("model").asText(), n.path("precision").asText(), n.path("weight_bytes").asDouble() / 1e9,
                    n.path("threads").asInt(), String.join(", ", prefill), d.path("median").asDouble(),
                    d.path("min").asDouble(), d.path("max").asDouble(), n.path("machine").path("cpu").asText(),
                    n.path("machine").path("logical_cores").asInt(), day(n), shortCommit(n)));
        }
        return t.toString();
    }

    static String day(JsonNode n) {
        String date = n.path("date").asText("");
        return date.length() >= 10 ? date.substring(0, 10) : date;
    }

    static String shortCommit(JsonNode n) {
        String c = n.path("commit").asText("unknown");
        return c.length() > 8 ? c.substring(0, 8) : c;
    }

    static List<Path> files(Path dir, String prefix) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix) && p.toString().endsWith(".json"))
                    .sorted().toList();
        } catch (IOException e) {
            throw new TinyrtException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    static JsonNode read(Path f) {
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new TinyrtException("cannot read result file " + f + ": " + e.getMessage(), e);
        }
    }
}
