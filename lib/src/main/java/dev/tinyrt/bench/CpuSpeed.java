package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.cli.Progress;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Prefill and decode speed of one loaded model: prefill tokens/s per prompt length (time to first token of a
 * fresh request), decode tokens/s after a prompt. Warm-up runs are excluded; medians and spread over repeats.
 */
public final class CpuSpeed {
    public record Settings(List<Integer> inputLengths, int decodePromptLength, int decodeTokens, int warmup,
                           int repeats) {
    }

    private CpuSpeed() {
    }

    /** Random non-special token ids (fixed seed), as trtllm-bench's token-norm-dist workloads use. */
    static int[] prompt(int length, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[length];
        ids[0] = 1;
        for (int i = 1; i < length; i++) {
            ids[i] = 3 + r.nextInt(vocab - 3);
        }
        return ids;
    }

    public static ObjectNode run(LoadedModel model, Settings s) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        ArrayNode prefill = out.putArray("prefill");
        int vocab = model.config().vocabSize();
        int total = s.inputLengths().size() + 1;
        try (Progress progress = Progress.start("cpu speed", total, "runs")) {
            for (int length : s.inputLengths()) {
                int[] ids = prompt(length, vocab, length);
                double[] tokPerS = new double[s.repeats()];
                double[] ttft = new double[s.repeats()];
                for (int i = -s.warmup(); i < s.repeats(); i++) {
                    long t0 = System.nanoTime();
                    model.model().lastLogits(ids);
                    double ms = (System.nanoTime() - t0) / 1e6;
                    if (i >= 0) {
                        ttft[i] = ms;
                        tokPerS[i] = length / (ms / 1e3);
                    }
                }
                ObjectNode row = prefill.addObject();
                row.put("input_len", length);
                row.set("tokens_per_s", Stats.of(tokPerS).toJson());
                row.set("ms", Stats.of(ttft).toJson());
                progress.step(1);
            }
            int[] ids = prompt(s.decodePromptLength(), vocab, 7);
            SamplingParams params = SamplingParams.greedy(s.decodeTokens()).withIgnoreEos(true);
            double[] decode = new double[s.repeats()];
            double[] ttft = new double[s.repeats()];
            for (int i = -s.warmup(); i < s.repeats(); i++) {
                GenerationResult r = model.generator().generate(ids, params, TokenListener.NONE);
                if (i >= 0) {
                    decode[i] = r.tokensPerS();
                    ttft[i] = r.ttftMs();
                }
            }
            ObjectNode d = out.putObject("decode");
            d.put("input_len", s.decodePromptLength());
            d.put("output_len", s.decodeTokens());
            d.set("tokens_per_s", Stats.of(decode).toJson());
            d.set("ttft_ms", Stats.of(ttft).toJson());
            progress.step(1);
        }
        return out;
    }
}
