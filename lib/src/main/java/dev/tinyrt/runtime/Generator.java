package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
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
            int[] positions = new int[prompt.length];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i;
            }
            StepSampler.Picks picks = StepSampler.run(model, new StepBatch(prompt, positions,
                    List.of(new StepBatch.Chunk(0, prompt.length, prompt.length, blockTable)),
                    new int[]{prompt.length - 1}), cache, List.of(seq));
            while (!picks.accept(0, seq)) {
                int length = seq.length();
                picks = StepSampler.run(model, new StepBatch(new int[]{seq.lastToken()}, new int[]{length - 1},
                        List.of(new StepBatch.Chunk(0, 1, length, blockTable)), new int[]{0}), cache, List.of(seq));
            }
        }
        return seq.result();
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
