package dev.tinyrt.backend;

/**
 * What {@link Backend#sampleRows} returns: one token id per row and, for rows that asked, their most likely tokens
 * by raw logit with log-softmax values, most likely first ({@code logprobIds[r].length} is the row's request, or
 * the vocabulary size if smaller).
 */
public record SampledTokens(int[] ids, int[][] logprobIds, float[][] logprobs) {
}
