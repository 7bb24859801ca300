package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.model.LlamaModel;


/**
 * A batch-1 greedy generation loop over {@link LlamaModel#forwardGreedy}, so only token ids leave the device:
 * prefill the prompt, then one decode step per token. Used by the GPU checks to time TTFT and decode and to compare
 * continuations across backends.
 */
final class GreedyDecode {
    /**
     * @param tokens  the new tokens
     * @param ttftMs  prompt submitted to first token on the host
     * @param decodeMs first token to last token
     */
    record Result(int[] tokens, double ttftMs, double decodeMs) {
        /** Decode tokens per second as trtllm-bench counts it: (n - 1) / (end - first token). */
        double tokensPerSecond() {
            return tokens.length > 1 ? (tokens.length - 1) / (decodeMs / 1e3) : Double.NaN;
        }
    }

    private GreedyDecode() {
    }

    static Result run(LlamaModel model, int[] prompt, int newTokens) {
        return run(model, prompt, newTokens, false);
    }

    /**
     * @param overlap queue each decode step before reading the previous step's token (its ids fed on the device,
     *                {@link LlamaModel#submitGreedy}), so the host's per-step work hides behind the GPU's
     */
    static Result run(LlamaModel model, int[] prompt, int newTokens, boolean overlap) {
        int blockSize = KvCache.DEFAULT_BLOCK_SIZE;
        int blocks = (prompt.length + newTokens + blockSize - 1) / blockSize;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        int[] out = new int[newTokens];
        try (KvCache cache = model.kvCache(blocks, blockSize)) {
            long start = System.nanoTime();
            StepBatch prefill = StepBatch.prompt(prompt, table);
            Backend.PendingIds previous = overlap ? model.submitGreedy(prefill, cache, false) : null;
            out[0] = overlap ? previous.await()[0] : model.forwardGreedy(prefill, cache)[0];
            long first = System.nanoTime();
            for (int i = 1; i < newTokens; i++) {
                if (overlap) {
                    // step i takes token i - 1 on the device; the host reads it while step i runs
                    Backend.PendingIds next = model.submitGreedy(StepBatch.decode(0, prompt.length + i, table), cache,
                            true);
                    if (i > 1) {
                        out[i - 1] = previous.await()[0];
                    }
                    previous = next;
                } else {
                    out[i] = model.forwardGreedy(StepBatch.decode(out[i - 1], prompt.length + i, table), cache)[0];
                }
            }
            if (overlap && newTokens > 1) {
                out[newTokens - 1] = previous.await()[0];
            }
            long end = System.nanoTime();
            return new Result(out, (first - start) / 1e6, (end - first) / 1e6);
        }
    }
}
