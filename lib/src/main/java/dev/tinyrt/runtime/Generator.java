package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.tokenizer.Tokenizer;

import java.util.List;
import java.util.Set;

/**
 * Generates one sequence at a time: prefill the prompt in one step, then one decode step per token, with a KV
 * cache sized for exactly this request. (Batched serving lives in the executor.)
 */
public final class Generator {
    private static final int BLOCK_SIZE = KvCache.DEFAULT_BLOCK_SIZE;

    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final Set<Integer> eosIds;

    /**
     * @param tokenizer may be {@code null}: ids in, ids out, no text (stop strings then cannot be used)
     * @param eosIds    ids that end generation (from generation_config.json or config.json)
     */
    public Generator(LlamaModel model, Tokenizer tokenizer, List<Integer> eosIds) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosIds = Set.copyOf(eosIds);
    }

    public GenerationResult generate(int[] prompt, SamplingParams params, TokenListener listener) {
        LlamaConfig config = model.config();
        validate(prompt, params, tokenizer, config);
        SequenceDecoding seq = new SequenceDecoding(prompt, params, tokenizer, eosIds,
                config.maxPositionEmbeddings(), listener, System.nanoTime());
        if (seq.finished()) {
            return seq.result();
        }
        int capacity = Math.min(prompt.length + params.maxNewTokens(), config.maxPositionEmbeddings());
        int blocks = (capacity + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int[] blockTable = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            blockTable[i] = i;
        }
        try (KvCache cache = model.kvCache(blocks, BLOCK_SIZE)) {
            StepBatch prefill = StepBatch.prompt(prompt, blockTable);
            if (StepSampler.overlapsGreedy(model, params)) {
                overlappedGreedy(prefill, cache, blockTable, seq);
                return seq.result();
            }
            StepSampler.Picks picks = StepSampler.run(model, prefill, cache, List.of(seq));
            while (!picks.accept(0, seq)) {
                picks = StepSampler.run(model, StepBatch.decode(seq.lastToken(), seq.length(), blockTable), cache,
                        List.of(seq));
            }
        }
        return seq.result();
    }

    /**
     * Greedy decoding with the host a step behind the device: the step that consumes a token is queued (its token
     * fed on the device) before the host reads that token, so the host's per-step work overlaps the GPU's. When the
     * token read turns out to end the sequence (EOS, a stop string), the step queued after it is discarded: it only
     * wrote a cache slot of this request's own cache.
     */
    private void overlappedGreedy(StepBatch prefill, KvCache cache, int[] blockTable, SequenceDecoding seq) {
        Backend.PendingIds pending = model.submitGreedy(prefill, cache, false);
        while (true) {
            // the next step reads the pending token, which will sit at position length
            Backend.PendingIds next = seq.mayWantTokenAfterNext()
                    ? model.submitGreedy(StepBatch.decode(0, seq.length() + 1, blockTable), cache, true) : null;
            boolean finished = seq.accept(pending.await()[0], null);
            if (finished) {
                if (next != null) {
                    next.await();  // the device is done with the cache before the caller closes it
                }
                return;
            }
            pending = next;
        }
    }

    /** Checks a request before any work is done; shared with the executor. */
    static void validate(int[] prompt, SamplingParams params, Tokenizer tokenizer, LlamaConfig config) {
        if (prompt.length == 0) {
            throw new TinyrtException("empty prompt: give at least one token");
        }
        if (prompt.length > config.maxPositionEmbeddings()) {
            throw new TinyrtException("prompt has " + prompt.length + " tokens but the model's context "
                    + "(max_position_embeddings) is " + config.maxPositionEmbeddings());
        }
        for (int id : prompt) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new TinyrtException("prompt token id " + id + " is outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
        if (!params.stopStrings().isEmpty() && tokenizer == null) {
            throw new TinyrtException("stop strings need a tokenizer, and this model directory has none");
        }
    }
}
