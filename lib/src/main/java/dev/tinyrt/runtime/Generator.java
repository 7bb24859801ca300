package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.tokenizer.StreamingDecoder;
import dev.tinyrt.tokenizer.Tokenizer;

import java.util.ArrayList;
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
        validate(prompt, params, config);
        long start = System.nanoTime();
        int maxPositions = config.maxPositionEmbeddings();
        int capacity = Math.min(prompt.length + params.maxNewTokens(), maxPositions);
        int blocks = (capacity + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int[] blockTable = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            blockTable[i] = i;
        }
        int[] history = new int[capacity + 1];
        System.arraycopy(prompt, 0, history, 0, prompt.length);
        int length = prompt.length;
        List<Integer> output = new ArrayList<>();
        List<TokenLogprob[]> logprobs = new ArrayList<>();
        FinishReason reason = FinishReason.LENGTH;
        long firstTokenAt = start;
        StreamingDecoder decoder = tokenizer == null ? null : tokenizer.streamingDecoder();
        StopStringFilter stops = new StopStringFilter(params.stopStrings());
        if (params.maxNewTokens() == 0) {
            return new GenerationResult(prompt.clone(), new int[0], decoder == null ? null : "", reason, logprobs,
                    0, 0, Double.NaN);
        }
        try (KvCache cache = model.backend().kvCache(config, blocks, BLOCK_SIZE)) {
            int[] positions = new int[prompt.length];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i;
            }
            float[] logits = model.forward(new StepBatch(prompt, positions,
                    List.of(new StepBatch.Chunk(0, prompt.length, prompt.length, blockTable)),
                    new int[]{prompt.length - 1}), cache)[0];
            Sampler sampler = new Sampler(params);
            while (true) {
                int token = sampler.next(logits, history, length);
                if (output.isEmpty()) {
                    firstTokenAt = System.nanoTime();
                }
                if (params.logprobs() > 0) {
                    logprobs.add(TokenLogprob.topK(logits, params.logprobs()));
                }
                output.add(token);
                history[length++] = token;
                String piece = decoder == null ? "" : stops.push(decoder.push(token));
                boolean finished = true;
                if (eosIds.contains(token) && !params.ignoreEos()) {
                    reason = FinishReason.EOS;
                } else if (stops.stopped()) {
                    reason = FinishReason.STOP_STRING;
                } else if (output.size() >= params.maxNewTokens()) {
                    reason = FinishReason.LENGTH;
                } else if (length >= maxPositions) {
                    reason = FinishReason.CONTEXT_FULL;
                } else {
                    finished = false;
                }
                if (finished && decoder != null && reason != FinishReason.STOP_STRING) {
                    piece += stops.push(decoder.flush()) + stops.flush();
                }
                listener.onToken(token, piece);
                if (finished) {
                    break;
                }
                logits = model.forward(new StepBatch(new int[]{token}, new int[]{length - 1},
                        List.of(new StepBatch.Chunk(0, 1, length, blockTable)), new int[]{0}), cache)[0];
            }
        }
        long end = System.nanoTime();
        double decodeMs = (end - firstTokenAt) / 1e6;
        int n = output.size();
        return new GenerationResult(prompt.clone(), output.stream().mapToInt(Integer::intValue).toArray(),
                decoder == null ? null : stops.text(), reason, logprobs, (firstTokenAt - start) / 1e6, decodeMs,
                n > 1 ? (n - 1) / (decodeMs / 1e3) : Double.NaN);
    }

    private void validate(int[] prompt, SamplingParams params, LlamaConfig config) {
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
