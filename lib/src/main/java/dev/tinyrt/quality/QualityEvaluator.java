package dev.tinyrt.quality;

import dev.tinyrt.TinyrtException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Scores candidates against a reference on a token stream, window by window as llama.cpp's
 * {@code perplexity --kl-divergence} does (see the package documentation): the reference runs once per window and
 * every candidate is compared with it, so a table of candidates costs one reference pass.
 */
public final class QualityEvaluator {
    /** Windows need a second half to score. */
    public static final int MIN_CONTEXT = 4;

    /**
     * @param contextSize tokens per window (llama.cpp's {@code n_ctx}, default 512)
     * @param maxWindows  evaluate at most this many windows (llama.cpp's {@code --chunks}); {@code <= 0} means all
     * @param bosId       the token that replaces each window's first token
     */
    public record Options(int contextSize, int maxWindows, int bosId) {
    }

    /** A named candidate; a candidate whose source is the reference object itself reuses the reference's logits. */
    public record Candidate(String label, LogitSource source) {
    }

    /** Told after each window, e.g. to drive a progress bar. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = (done, total) -> {
        };

        void windowDone(int done, int total);
    }

    private QualityEvaluator() {
    }

    public static QualityResult evaluate(LogitSource reference, String referenceLabel, Candidate candidate,
                                         int[] tokens, Options options) {
        return evaluate(reference, referenceLabel, List.of(candidate), tokens, options, Listener.NONE).getFirst();
    }

    /** One result per candidate, in the given order. */
    public static List<QualityResult> evaluate(LogitSource reference, String referenceLabel,
                                               List<Candidate> candidates, int[] tokens, Options options,
                                               Listener listener) {
        if (candidates.isEmpty()) {
            throw new TinyrtException("no candidate to evaluate");
        }
        int ctx = options.contextSize();
        checkContext(ctx, reference, referenceLabel);
        for (Candidate c : candidates) {
            checkContext(ctx, c.source(), c.label());
        }
        int windows = windows(tokens.length, options);
        int first = ctx / 2;
        int last = ctx - 1; // exclusive: the last position's logits predict a token outside the window
        List<QualityAccumulator> sums = new ArrayList<>();
        candidates.forEach(c -> sums.add(new QualityAccumulator()));
        for (int w = 0; w < windows; w++) {
            int[] ids = Arrays.copyOfRange(tokens, w * ctx, (w + 1) * ctx);
            ids[0] = options.bosId();
            float[][] ref = rows(reference, referenceLabel, ids, first, last);
            for (int c = 0; c < candidates.size(); c++) {
                Candidate cand = candidates.get(c);
                float[][] out = cand.source() == reference ? ref : rows(cand.source(), cand.label(), ids, first, last);
                if (out[0].length != ref[0].length) {
                    throw new TinyrtException("vocabularies differ: " + referenceLabel + " has " + ref[0].length
                            + " logits per token, " + cand.label() + " " + out[0].length);
                }
                compare(ref, out, ids, first, sums.get(c));
            }
            listener.windowDone(w + 1, windows);
        }
        List<QualityResult> results = new ArrayList<>();
        for (int c = 0; c < candidates.size(); c++) {
            results.add(sums.get(c).result(candidates.get(c).label(), referenceLabel, ctx, windows));
        }
        return results;
    }

    /** Windows the stream holds at {@code options} (llama.cpp: {@code n_chunk = tokens / n_ctx}, capped). */
    public static int windows(int tokenCount, Options options) {
        int ctx = options.contextSize();
        if (ctx < MIN_CONTEXT) {
            throw new TinyrtException("context size " + ctx + " is too small: at least " + MIN_CONTEXT
                    + " tokens, so that the second half of a window has tokens to score");
        }
        int all = tokenCount / ctx;
        if (all == 0) {
            throw new TinyrtException("the evaluation text has only " + tokenCount + " tokens, fewer than one window"
                    + " of " + ctx + "; use a longer text or a smaller context size");
        }
        return options.maxWindows() > 0 ? Math.min(all, options.maxWindows()) : all;
    }

    /** Tokens scored per window: positions {@code ctx/2 .. ctx-2} predict the next token. */
    public static int scoredPerWindow(int contextSize) {
        return contextSize - 1 - contextSize / 2;
    }

    /** Fails with a clear message when {@code source} cannot take windows of {@code ctx} tokens. */
    public static void checkContext(int ctx, LogitSource source, String label) {
        if (ctx > source.contextLength()) {
            throw new TinyrtException("context size " + ctx + " exceeds the " + source.contextLength()
                    + " positions " + label + " supports");
        }
    }

    private static float[][] rows(LogitSource source, String label, int[] ids, int from, int to) {
        float[][] out = source.logits(ids, from, to);
        if (out.length != to - from) {
            throw new IllegalStateException(label + " returned " + out.length + " logit rows, expected " + (to - from));
        }
        for (int j = from + 1; j <= to; j++) {
            if (ids[j] < 0 || ids[j] >= out[0].length) {
                throw new TinyrtException("token id " + ids[j] + " is outside the " + out[0].length
                        + "-token vocabulary of " + label);
            }
        }
        return out;
    }

    /** Per-token work in parallel, summed in token order so results do not depend on the thread count. */
    private static void compare(float[][] ref, float[][] cand, int[] ids, int first, QualityAccumulator sums) {
        TokenComparison[] scored = IntStream.range(0, ref.length).parallel()
                .mapToObj(j -> TokenComparison.of(ref[j], cand[j], ids[first + j + 1]))
                .toArray(TokenComparison[]::new);
        for (TokenComparison t : scored) {
            sums.add(t);
        }
    }
}
