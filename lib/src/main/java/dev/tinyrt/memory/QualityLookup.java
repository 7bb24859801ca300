package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.ProjectHome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The quality cost of a quantized KV cache, taken from quality_eval results in data/results: results whose
 * candidate label names a KV dtype ("kv-int8", "kv-fp8") are the measurements. None exist while the engine cannot
 * store int8/fp8 KV; the report then says so.
 */
final class QualityLookup {
    private static final ObjectMapper JSON = new ObjectMapper();

    private QualityLookup() {
    }

    static ObjectNode kvQuality() {
        return kvQuality(ProjectHome.find().map(h -> h.resolve("data/results")).orElse(null));
    }

    static ObjectNode kvQuality(Path results) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        ArrayNode found = n.putArray("results");
        if (results != null && Files.isDirectory(results)) {
            try (Stream<Path> files = Files.list(results)) {
                for (Path f : files.filter(p -> p.getFileName().toString().startsWith("quality_")).sorted().toList()) {
                    for (JsonNode r : JSON.readTree(f.toFile()).path("results")) {
                        String label = r.path("label").asText("").toLowerCase(Locale.ROOT);
                        if (label.contains("kv-int8") || label.contains("kv-fp8")) {
                            found.addObject().put("file", f.getFileName().toString()).put("label", r.path("label")
                                    .asText()).put("ppl_ratio", r.path("ppl_ratio").path("value").asDouble())
                                    .put("kld_mean", r.path("kld_mean").path("value").asDouble())
                                    .put("same_top1_pct", r.path("same_top1_pct").path("value").asDouble());
                        }
                    }
                }
            } catch (IOException e) {
                n.put("error", "cannot read " + results + ": " + e.getMessage());
            }
        }
        if (found.isEmpty()) {
            n.put("note", "no quality_eval result for an int8/fp8 KV cache in data/results yet (candidates labelled "
                    + "KV-int8 or KV-fp8): run jbang jbang-scripts/quality_eval.java --kv-cache-dtype int8 (or fp8)");
        }
        return n;
    }
}
