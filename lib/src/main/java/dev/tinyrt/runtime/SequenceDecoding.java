package dev.tinyrt.runtime;

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
        this.startNanos = startNanos;
        if (params.maxNewTokens() == 0) {
            reason = FinishReason.LENGTH;
            endNanos = firstTokenNanos = startNanos;
        }
    }

    /**
     * Whether the next token is the plain argmax of the logits (greedy, no repetition penalty, no log-probs): then
     * the backend may pick it where the logits are and hand over only the id ({@link #acceptToken}).
     */
    boolean pickedByArgmax() {
        return params.isGreedy() && params.repetitionPenalty() == 1f && params.logprobs() == 0;
    }

    /** Samples the next token from {@code logits}, emits it, and returns true when the sequence is finished. */
    boolean accept(float[] logits) {
        int token = sampler.next(logits, history, length);
        if (params.logprobs() > 0) {
            logprobs.add(TokenLogprob.topK(logits, params.logprobs()));
        }
        return emit(token);
    }

    /** Emits a token the backend already picked ({@link #pickedByArgmax}); true when the sequence is finished. */
    boolean acceptToken(int token) {
        return emit(token);
    }

    private boolean emit(int token) {
        long now = System.nanoTime();
        if (length == prompt.length) {
            firstTokenNanos = now;
        }
        if (length == history.length) {
            history = Arrays.copyOf(history, history.length * 2);
        }
        history[length++] = token;
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

    /** Ends the sequence early (cancel). */
    void cancel() {
        if (reason == null) {
            reason = FinishReason.CANCELLED;
            endNanos = System.nanoTime();
        }
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
}
