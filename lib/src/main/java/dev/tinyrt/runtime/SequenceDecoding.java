package dev.tinyrt.runtime;

import dev.tinyrt.backend.SamplingRow;
import dev.tinyrt.tokenizer.StreamingDecoder;
import dev.tinyrt.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Everything that happens to one sequence between two forward steps: pick the next token from its logits, record
 * log-probabilities, decode text (holding back partial characters and possible stop strings), decide whether the
 * sequence is finished, and tell the listener. Shared by the single-request {@link Generator} and the batching
 * {@link Executor}, so both behave identically.
 */
final class SequenceDecoding {
    private final int[] prompt;
    private final SamplingParams params;
    private final Set<Integer> eosIds;
    private final int maxPositions;
    private final TokenListener listener;
    private final Sampler sampler;
    private final StreamingDecoder decoder;
    private final StopStringFilter stops;
    private final List<TokenLogprob[]> logprobs = new ArrayList<>();
    private final DistinctIds penalized;
    private int[] history;
    private int length;
    private FinishReason reason;
    private final long startNanos;
    private long firstTokenNanos;
    private long endNanos;

    SequenceDecoding(int[] prompt, SamplingParams params, Tokenizer tokenizer, Set<Integer> eosIds, int maxPositions,
                     TokenListener listener, long startNanos) {
        this.prompt = prompt.clone();
        this.params = params;
        this.eosIds = eosIds;
        this.maxPositions = maxPositions;
        this.listener = listener;
        this.sampler = new Sampler(params);
        this.decoder = tokenizer == null ? null : tokenizer.streamingDecoder();
        this.stops = new StopStringFilter(params.stopStrings());
        this.history = Arrays.copyOf(prompt, prompt.length + Math.max(16, Math.min(params.maxNewTokens(), 4096)));
        this.length = prompt.length;
        this.penalized = new DistinctIds(params.repetitionPenalty() != 1f);
        for (int id : prompt) {
            penalized.add(id);
        }
        this.startNanos = startNanos;
        if (params.maxNewTokens() == 0) {
            reason = FinishReason.LENGTH;
            endNanos = firstTokenNanos = startNanos;
        }
    }

    /** Samples the next token from {@code logits}, emits it, and returns true when the sequence is finished. */
    boolean accept(float[] logits) {
        int token = sampler.next(logits, history, length);
        return accept(token, params.logprobs() > 0 ? TokenLogprob.topK(logits, params.logprobs()) : null);
    }

    /**
     * Emits a token picked elsewhere (on the device, with {@link #samplingRow()}'s parameters) with its top
     * log-probabilities ({@code null} when none were asked for); returns true when the sequence is finished.
     */
    boolean accept(int token, TokenLogprob[] top) {
        long now = System.nanoTime();
        if (length == prompt.length) {
            firstTokenNanos = now;
        }
        if (params.logprobs() > 0) {
            logprobs.add(top);
        }
        if (length == history.length) {
            history = Arrays.copyOf(history, history.length * 2);
        }
        history[length++] = token;
        penalized.add(token);
        String piece = decoder == null ? "" : stops.push(decoder.push(token));
        int generated = length - prompt.length;
        if (eosIds.contains(token) && !params.ignoreEos()) {
            reason = FinishReason.EOS;
        } else if (stops.stopped()) {
            reason = FinishReason.STOP_STRING;
        } else if (generated >= params.maxNewTokens()) {
            reason = FinishReason.LENGTH;
        } else if (length >= maxPositions) {
            reason = FinishReason.CONTEXT_FULL;
        }
        if (reason != null) {
            endNanos = System.nanoTime();
            if (decoder != null && reason != FinishReason.STOP_STRING) {
                piece += stops.push(decoder.flush()) + stops.flush();
            }
        }
        listener.onToken(token, piece);
        return reason != null;
    }

    /**
     * The parameters of this sequence's next token for a device sampler: the same seed as the CPU sampler's, and
     * the number of tokens sampled so far as the position in its random stream.
     */
    SamplingRow samplingRow() {
        return new SamplingRow(params.temperature(), params.topK(), params.topP(), params.repetitionPenalty(),
                penalized.ids(), sampler.seed(), length - prompt.length, params.logprobs());
    }

    /** Ends the sequence early (cancel). */
    void cancel() {
        if (reason == null) {
            reason = FinishReason.CANCELLED;
            endNanos = System.nanoTime();
        }
    }

    /**
     * Whether a token after the next one could still be wanted: false when the next token, whatever it is, ends the
     * sequence by length or context (an EOS or a stop string cannot be known before it is picked).
     */
    boolean mayWantTokenAfterNext() {
        return length + 1 - prompt.length < params.maxNewTokens() && length + 1 < maxPositions;
    }

    boolean finished() {
        return reason != null;
    }

    int lastToken() {
        return history[length - 1];
    }

    /** Prompt plus generated tokens so far. */
    int length() {
        return length;
    }

    int[] tokens() {
        return Arrays.copyOf(history, length);
    }

    /** Copies tokens {@code from .. from + n} into {@code dst} at {@code at} (no copy of the whole history). */
    void copyTokens(int from, int[] dst, int at, int n) {
        if (from + n > length) {
            throw new IndexOutOfBoundsException("tokens " + from + " + " + n + " of " + length);
        }
        System.arraycopy(history, from, dst, at, n);
    }

    /**
     * The token array itself, valid up to {@link #length()} and only until the next token is accepted: for
     * readers on the engine thread that must not pay a copy per step.
     */
    int[] tokensView() {
        return history;
    }

    int[] prompt() {
        return prompt;
    }

    SamplingParams params() {
        return params;
    }

    GenerationResult result() {
        int[] out = Arrays.copyOfRange(history, prompt.length, length);
        double decodeMs = (endNanos - firstTokenNanos) / 1e6;
        return new GenerationResult(prompt.clone(), out, decoder == null ? null : stops.text(), reason,
                List.copyOf(logprobs), out.length == 0 ? 0 : (firstTokenNanos - startNanos) / 1e6, decodeMs,
                out.length > 1 ? (out.length - 1) / (decodeMs / 1e3) : Double.NaN);
    }

    /** The distinct ids of a sequence so far, kept only when a repetition penalty needs them. */
    private static final class DistinctIds {
        private final boolean kept;
        private final java.util.BitSet seen = new java.util.BitSet();
        private int[] ids = new int[16];
        private int count;

        DistinctIds(boolean kept) {
            this.kept = kept;
        }

        void add(int id) {
            if (kept && id >= 0 && !seen.get(id)) {
                seen.set(id);
                if (count == ids.length) {
                    ids = Arrays.copyOf(ids, 2 * count);
                }
                ids[count++] = id;
            }
        }

        int[] ids() {
            return count == 0 ? NONE : Arrays.copyOf(ids, count);
        }

        private static final int[] NONE = new int[0];
    }
}
