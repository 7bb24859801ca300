package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Workloads for memory runs: a ShareGPT-like lognormal mix, fixed lengths, a shared system prompt in front of
 * every request, and trtllm-bench dataset files ({@code {"task_id":i,"input_ids":[...],"output_tokens":n}} per
 * line). Prompts are random non-special ids after BOS, seeded, so every run sees the same requests.
 */
public final class Workloads {
    /** Context the ShareGPT-like parameters are stated for (TinyLlama's); other contexts scale them. */
    public static final int REFERENCE_CONTEXT = 2048;
    private static final int FIRST_ORDINARY_ID = 3;  // 0 unk, 1 BOS, 2 EOS in the Llama vocabulary
    private static final ObjectMapper JSON = new ObjectMapper();

    private Workloads() {
    }

    /**
     * Lognormal lengths: {@code median · exp(sigma · z)}, z standard normal. With sigma 1 the mean is 1.65 × the
     * median, so medians 98 (input) and 205 (output) give ShareGPT's published means of 161 and 338 tokens (vLLM
     * paper, Kwon et al. 2023) before clipping to the context.
     */
    public record Lognormal(double inputMedian, double inputSigma, double outputMedian, double outputSigma) {
        public static final Lognormal SHAREGPT = new Lognormal(98, 1.0, 205, 1.0);

        /** The same shape for a context of {@code maxSeqLen} tokens (medians scaled by maxSeqLen / 2048). */
        public Lognormal scaledTo(int maxSeqLen) {
            double f = (double) maxSeqLen / REFERENCE_CONTEXT;
            return new Lognormal(inputMedian * f, inputSigma, outputMedian * f, outputSigma);
        }

        public Lognormal scaled(double factor) {
            return new Lognormal(inputMedian * factor, inputSigma, outputMedian * factor, outputSigma);
        }
    }

    /** Requests whose lengths follow {@code shape}, clipped so that prompt + output ≤ {@code maxSeqLen}. */
    public static Workload lognormal(Lognormal shape, int requests, long seed, int maxSeqLen, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Workload.Request> list = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            int in = clamp(draw(r, shape.inputMedian(), shape.inputSigma()), 2, maxSeqLen - 1);
            int out = clamp(draw(r, shape.outputMedian(), shape.outputSigma()), 1, maxSeqLen - in);
            list.add(new Workload.Request(prompt(r, in, vocab), out));
        }
        return new Workload("lognormal", String.format(Locale.ROOT,
                "ShareGPT-like lognormal lengths: input median %.0f sigma %.1f, output median %.0f sigma %.1f, "
                        + "clipped to max_seq_len %d; seed %d", shape.inputMedian(), shape.inputSigma(),
                shape.outputMedian(), shape.outputSigma(), maxSeqLen, seed), list);
    }

    public static Workload fixed(int inputTokens, int outputTokens, int requests, long seed, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Workload.Request> list = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            list.add(new Workload.Request(prompt(r, inputTokens, vocab), outputTokens));
        }
        return new Workload("fixed", "fixed lengths: " + inputTokens + " in, " + outputTokens + " out; seed " + seed,
                list);
    }

    /**
     * Every request of {@code base} behind the same {@code systemTokens}-token system prompt (BOS first), with its
     * own prompt shortened so that lengths stay within {@code maxSeqLen}.
     */
    public static Workload withSystemPrompt(Workload base, int systemTokens, long seed, int maxSeqLen, int vocab) {
        int[] system = prompt(new SplittableRandom(seed ^ 0x5EED), systemTokens, vocab);
        List<Workload.Request> list = new ArrayList<>();
        for (Workload.Request q : base.requests()) {
            int user = Math.max(1, Math.min(q.promptIds().length - 1, maxSeqLen - systemTokens - q.outputTokens()));
            int[] ids = new int[systemTokens + user];
            System.arraycopy(system, 0, ids, 0, systemTokens);
            System.arraycopy(q.promptIds(), 1, ids, systemTokens, Math.min(user, q.promptIds().length - 1));
            int out = Math.max(1, Math.min(q.outputTokens(), maxSeqLen - ids.length));
            list.add(new Workload.Request(ids, out));
        }
        return new Workload(base.name() + "+system" + systemTokens, base.description() + "; every prompt starts with "
                + "the same " + systemTokens + "-token system prompt", list);
    }

    /** Reads a trtllm-bench dataset file, checking ids against the vocabulary and lengths against the context. */
    public static Workload read(Path file, int maxSeqLen, int vocab) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("dataset not found: " + file);
        }
        List<Workload.Request> list = new ArrayList<>();
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                if (!lines.get(i).isBlank()) {
                    list.add(request(lines.get(i), file, i + 1, maxSeqLen, vocab));
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot read dataset " + file + ": " + e.getMessage(), e);
        }
        if (list.isEmpty()) {
            throw new TinyrtException("dataset " + file + " has no requests");
        }
        return new Workload("dataset", "trtllm-bench dataset " + file.getFileName(), list);
    }

    private static Workload.Request request(String line, Path file, int lineNo, int maxSeqLen, int vocab) {
        String where = file.getFileName() + " line " + lineNo + ": ";
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new TinyrtException(where + "not JSON (" + e.getOriginalMessage() + ")");
        }
        JsonNode ids = n.path("input_ids");
        JsonNode out = n.path("output_tokens");
        if (!ids.isArray() || ids.isEmpty() || !out.canConvertToInt() || out.asInt() < 1) {
            throw new TinyrtException(where + "expected {\"input_ids\":[...], \"output_tokens\":n} with at least one "
                    + "input id and n >= 1");
        }
        int[] prompt = new int[ids.size()];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = ids.get(i).asInt(-1);
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new TinyrtException(where + "input id " + ids.get(i) + " is outside the vocabulary [0, " + vocab
                        + ")");
            }
        }
        if (prompt.length + out.asInt() > maxSeqLen) {
            throw new TinyrtException(where + prompt.length + " input + " + out.asInt() + " output tokens exceed "
                    + "max_seq_len " + maxSeqLen);
        }
        return new Workload.Request(prompt, out.asInt());
    }

    /** Writes {@code w} as a trtllm-bench dataset file (one JSON object per line). */
    public static void write(Workload w, Path file) {
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                for (int i = 0; i < w.requests().size(); i++) {
                    var q = w.requests().get(i);
                    var n = JSON.createObjectNode();
                    n.put("task_id", i);
                    var ids = n.putArray("input_ids");
                    for (int id : q.promptIds()) {
                        ids.add(id);
                    }
                    n.put("output_tokens", q.outputTokens());
                    out.write(JSON.writeValueAsString(n));
                    out.write('\n');
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot write dataset " + file + ": " + e.getMessage(), e);
        }
    }

    private static int draw(SplittableRandom r, double median, double sigma) {
        return (int) Math.round(median * Math.exp(sigma * gaussian(r)));
    }

    /** Box-Muller: SplittableRandom has no nextGaussian with a stable algorithm across JDKs. */
    private static double gaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static int[] prompt(SplittableRandom r, int length, int vocab) {
        int[] ids = new int[length];
        ids[0] = 1;
        for (int i = 1; i < length; i++) {
            ids[i] = FIRST_ORDINARY_ID + r.nextInt(vocab - FIRST_ORDINARY_ID);
        }
        return ids;
    }
}
