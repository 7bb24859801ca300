package dev.tinyrt.runtime;

import java.util.List;

/**
 * The outcome of one generation.
 *
 * @param outputIds     generated ids (an ending EOS id included, as HF does)
 * @param text          decoded generated text, stop string excluded; {@code null} without a tokenizer
 * @param logprobs      per generated token, the top-k entries asked for (empty lists when none were asked for)
 * @param ttftMs        submit to first generated token
 * @param decodeMs      first generated token to last
 * @param tokensPerS    decode speed: (generated - 1) / decodeMs, NaN with fewer than two tokens
 */
public record GenerationResult(int[] promptIds, int[] outputIds, String text, FinishReason finishReason,
                               List<TokenLogprob[]> logprobs, double ttftMs, double decodeMs, double tokensPerS) {
}
