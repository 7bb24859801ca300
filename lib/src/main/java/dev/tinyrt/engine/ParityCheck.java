package dev.tinyrt.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Compares a loaded model with reference outputs written by {@code environment/hf_reference.py} (HF transformers,
 * fp32): per-position logits (full, or top-k plus logsumexp for large vocabularies) and greedy continuations.
 */
public final class ParityCheck {
    /**
     * @param relativeError max over positions of (max |ours - reference|) / (max |reference logit|) at that position
     */
    public record PromptResult(int index, int length, double maxAbsError, double relativeError, int[] expectedGreedy,
                               int[] actualGreedy) {
        public boolean greedyMatches() {
            return Arrays.equals(expectedGreedy, actualGreedy);
        }
    }

    public record Report(List<PromptResult> prompts) {
        public double worstRelativeError() {
            return prompts.stream().mapToDouble(PromptResult::relativeError).max().orElse(0);
        }

        public boolean allGreedyMatch() {
            return prompts.stream().allMatch(PromptResult::greedyMatches);
        }

        public boolean passed(double tolerance) {
            return worstRelativeError() <= tolerance && allGreedyMatch();
        }
    }

    private ParityCheck() {
    }

    /** Writes the report with its provenance ({@code run}) as JSON. */
    public static void writeJson(Report report, double tolerance, Path file, ObjectNode run) {
        ObjectNode n = run.deepCopy();
        n.put("tolerance", tolerance);
        n.put("passed", report.passed(tolerance));
        n.put("worst_relative_error", report.worstRelativeError());
        ArrayNode prompts = n.putArray("prompts");
        for (PromptResult r : report.prompts()) {
            prompts.addObject().put("tokens", r.length()).put("max_abs_error", r.maxAbsError())
                    .put("relative_error", r.relativeError()).put("greedy_identical", r.greedyMatches())
                    .put("greedy_tokens", r.expectedGreedy().length);
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), n);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public static Report run(LoadedModel model, Path reference) {
        List<PromptResult> results = new ArrayList<>();
        try (SafetensorsFile ref = SafetensorsFile.open(reference)) {
            for (int i = 0; ref.contains("prompt." + i + ".input_ids"); i++) {
                results.add(check(model, ref, "prompt." + i + ".", i));
            }
        }
        if (results.isEmpty()) {
            throw new TinyrtException(reference + " holds no prompt.N.input_ids tensors: not a reference file");
        }
        return new Report(results);
    }

    private static PromptResult check(LoadedModel model, SafetensorsFile ref, String p, int index) {
        int[] ids = toInts(ref.toFloats(p + "input_ids"));
        float[][] ours = model.model().promptLogits(ids);
        float[] maxAbs = ref.toFloats(p + "max_abs_logit");
        double worstAbs = 0;
        double worstRel = 0;
        if (ref.contains(p + "logits")) {
            float[] full = ref.toFloats(p + "logits");
            int vocab = full.length / ids.length;
            for (int t = 0; t < ids.length; t++) {
                double err = 0;
                for (int v = 0; v < vocab; v++) {
                    err = Math.max(err, Math.abs(ours[t][v] - full[t * vocab + v]));
                }
                worstAbs = Math.max(worstAbs, err);
                worstRel = Math.max(worstRel, err / maxAbs[t]);
            }
        } else {
            int[] topIds = toInts(ref.toFloats(p + "topk_ids"));
            float[] topLogits = ref.toFloats(p + "topk_logits");
            float[] lse = ref.toFloats(p + "logsumexp");
            int k = topIds.length / ids.length;
            for (int t = 0; t < ids.length; t++) {
                double err = Math.abs(logSumExp(ours[t]) - lse[t]);
                for (int j = 0; j < k; j++) {
                    err = Math.max(err, Math.abs(ours[t][topIds[t * k + j]] - topLogits[t * k + j]));
                }
                worstAbs = Math.max(worstAbs, err);
                worstRel = Math.max(worstRel, err / maxAbs[t]);
            }
        }
        int[] expected = toInts(ref.toFloats(p + "greedy"));
        GenerationResult g = model.generator().generate(ids,
                SamplingParams.greedy(expected.length).withIgnoreEos(true), TokenListener.NONE);
        return new PromptResult(index, ids.length, worstAbs, worstRel, expected, g.outputIds());
    }

    private static double logSumExp(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }

    private static int[] toInts(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.round(values[i]);
        }
        return out;
    }
}
