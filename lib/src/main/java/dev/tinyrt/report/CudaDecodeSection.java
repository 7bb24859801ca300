package dev.tinyrt.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * README table of batch-1 CUDA decode per precision, from the newest default-settings GPU check of each GPU model in
 * data/results ({@code cuda_check_<gpu>_<date>_<commit>.json}, written by environment/gpu/cuda_check.sh). Files with
 * a suffix after the commit, or run with CUDA_CHECK_JAVA_OPTS, are experiments and never chosen.
 */
public final class CudaDecodeSection {
    /** The batch-1 decode targets (tok/s), stated for the H100. */
    private static final Map<String, Integer> TARGETS = Map.of("fp16", 1100, "int8", 1900, "int4", 3000);
    private static final List<String> QUANT_ORDER = List.of("int8", "int4", "fp8", "w8a8_sq", "int4_awq");
    private static final Pattern DEFAULT_RUN = Pattern.compile("cuda_check_([a-z0-9]+)_\\d{4}-\\d\\d-\\d\\d_[0-9a-f]{7}\\.json");

    private CudaDecodeSection() {
    }

    /** Section {@code cuda-decode}: one row per GPU and precision. */
    public static String section(Path dir) {
        StringBuilder t = new StringBuilder();
        t.append("| GPU | precision | GPU µs per step | decode tok/s (graphs) | overlapped tok/s | target | bytes per step "
                + "| achieved GB/s | of copy bandwidth | TTFT ms (128 tokens) | date | commit |\n");
        t.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n");
        for (JsonNode n : newestPerGpu(dir).values()) {
            String gpu = n.path("gpu").asText().split(",")[0];
            JsonNode speed = n.path("speed");
            double copy = speed.path("bandwidth").path("copy_gb_s").asDouble();
            row(t, gpu, "fp16", speed, copy, n);
            for (String label : QUANT_ORDER) {
                JsonNode q = n.path("quant").path(label);
                if (q.path("decode_gpu_us_per_step").isNumber()) {
                    row(t, gpu, label, q, copy, n);
                }
            }
        }
        return t.toString();
    }

    /** The newest (by its date) default-settings check of each GPU model, keyed by the file name's GPU. */
    static Map<String, JsonNode> newestPerGpu(Path dir) {
        Map<String, JsonNode> newest = new LinkedHashMap<>();
        for (Path f : ResultTables.files(dir, "cuda_check_")) {
            Matcher m = DEFAULT_RUN.matcher(f.getFileName().toString());
            if (!m.matches()) {
                continue;
            }
            JsonNode n = ResultTables.read(f);
            if (n.path("command").asText().contains("CUDA_CHECK_JAVA_OPTS") || !n.path("speed").has("decode_gpu_us_per_step")) {
                continue;
            }
            newest.merge(m.group(1), n, (a, b) -> Comparator.<JsonNode, String>comparing(x -> x.path("date").asText())
                    .compare(a, b) >= 0 ? a : b);
        }
        return newest;
    }

    private static void row(StringBuilder t, String gpu, String label, JsonNode s, double copyGbS, JsonNode n) {
        JsonNode bytes = s.path("bytes_per_decode_step");
        double achieved = bytes.path("achieved_gb_s").asDouble();
        Integer target = TARGETS.get(label);
        t.append(String.format(Locale.ROOT, "| %s | %s | %,.0f | %,.0f | %s | %s | %.2f GB | %,.0f | %.0f %% | %.2f | %s | `%s` |%n",
                gpu, label, s.path("decode_gpu_us_per_step").asDouble(),
                s.path("decode_tok_s_graphs").path("median").asDouble(),
                s.path("decode_tok_s_graphs_overlap").has("median")
                        ? String.format(Locale.ROOT, "%,.0f", s.path("decode_tok_s_graphs_overlap").path("median").asDouble())
                        : "–",
                target == null ? "–" : String.format(Locale.ROOT, "%,d", target), bytes.path("total").asDouble() / 1e9,
                achieved, 100 * achieved / copyGbS, s.path("ttft_ms_graphs").path("median").asDouble(),
                ResultTables.day(n), ResultTables.shortCommit(n)));
    }
}
