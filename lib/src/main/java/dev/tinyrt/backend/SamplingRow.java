package dev.tinyrt.backend;

/**
 * How to pick the next token of one logits row where the logits are (see {@link Backend#sampleRows}), with the
 * CPU sampler's semantics ({@code dev.tinyrt.runtime.Sampler}): repetition penalty, then temperature (0 = greedy),
 * top-k, top-p, then a draw.
 *
 * @param penalized distinct token ids the repetition penalty applies to (the sequence so far)
 * @param seed      the sequence's random stream
 * @param step      tokens the sequence has sampled before this one: with {@code seed} it fixes the draw, so a
 *                  sequence's tokens do not depend on the batch it shares
 * @param logprobs  how many top log-probabilities of the raw logits to return (0 for none)
 */
public record SamplingRow(float temperature, int topK, float topP, float repetitionPenalty, int[] penalized,
                          long seed, long step, int logprobs) {
}
