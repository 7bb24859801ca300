package dev.tinyrt.runtime;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.SampledTokens;
import dev.tinyrt.backend.SamplingRow;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.model.LlamaModel;

import java.util.List;

/**
 * Runs one forward step and picks the next token of every sequence that wants one: on the device where the backend
 * samples there (the CUDA backend: only ids and log-probabilities cross to the host), else from the logits copied
 * to the host by each sequence's {@link Sampler}. {@code -Dtinyrt.sampling=host} forces the host path.
 */
final class StepSampler {
    private static final boolean HOST_ONLY = "host".equals(System.getProperty("tinyrt.sampling"));

    private StepSampler() {
    }

    /**
     * Whether a sequence with these parameters can be decoded with each step queued before the previous token is
     * read ({@link dev.tinyrt.model.LlamaModel#submitGreedy}): plain greedy (no penalty, no log-probabilities, whose
     * pick is the argmax of the raw logits) on a backend that feeds tokens on its device.
     */
    static boolean overlapsGreedy(LlamaModel model, SamplingParams params) {
        return !HOST_ONLY && params.isGreedy() && params.repetitionPenalty() == 1f && params.logprobs() == 0
                && model.backend().feedsTokensOnDevice();
    }

    /** The step's picks; {@code wanting.get(i)} is the sequence of {@code batch.logitRows()[i]}. */
    static Picks run(LlamaModel model, StepBatch batch, KvCache cache, List<SequenceDecoding> wanting) {
        if (!HOST_ONLY && model.backend().samplesOnDevice()) {
            SamplingRow[] rows = new SamplingRow[wanting.size()];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = wanting.get(i).samplingRow();
            }
            return new Picks(null, model.forwardSampled(batch, cache, rows));
        }
        return new Picks(model.forward(batch, cache), null);
    }

    /** Host logits or device-picked tokens, one entry per wanted row. */
    record Picks(float[][] logits, SampledTokens sampled) {
        /** Hands row {@code i}'s token to its sequence; true when the sequence is finished. */
        boolean accept(int i, SequenceDecoding sequence) {
            if (sampled == null) {
                return sequence.accept(logits[i]);
            }
            TokenLogprob[] top = null;
            if (sequence.params().logprobs() > 0) {
                int[] ids = sampled.logprobIds()[i];
                top = new TokenLogprob[ids.length];
                for (int j = 0; j < ids.length; j++) {
                    top[j] = new TokenLogprob(ids[j], sampled.logprobs()[i][j]);
                }
            }
            return sequence.accept(sampled.ids()[i], top);
        }
    }
}
