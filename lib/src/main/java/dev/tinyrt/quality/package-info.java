/**
 * Output quality of a candidate model (another precision, a quantized checkpoint) against a reference model on
 * held-out text, measured the way llama.cpp's {@code llama-perplexity --kl-divergence} does
 * (ggml-org/llama.cpp, tools/perplexity/perplexity.cpp, functions {@code perplexity} and {@code kl_divergence}).
 *
 * <p>What is followed from llama.cpp:
 * <ul>
 *   <li>The token stream is cut into consecutive, non-overlapping windows of {@code ctx} tokens
 *       ({@code n_chunk = tokens / ctx}, a partial last window is dropped); the first token of each window is
 *       <em>replaced</em> by BOS (not shifted in), and the KV cache starts empty for every window.</li>
 *   <li>Only the second half of a window is scored: with {@code first = ctx / 2}, the logits at positions
 *       {@code first .. ctx-2} predict tokens {@code first+1 .. ctx-1}, so {@code ctx - 1 - first} tokens per
 *       window.</li>
 *   <li>Per scored token: {@code nll = logsumexp(logits) - logits[target]} for both models;
 *       {@code KLD = sum_i p_ref(i) (log p_ref(i) - log p_cand(i))}; "same top" when both argmaxes (first index of
 *       the maximum) agree; {@code Δp = p_cand(target) - p_ref(target)}.</li>
 *   <li>Summary statistics: a mean's uncertainty is {@code sqrt((E[x²] - E[x]²) / (n - 1))}, and 0 for
 *       {@code n <= 10}; {@code PPL = exp(mean nll)} with uncertainty {@code PPL · σ(mean nll)};
 *       {@code ln(PPL(Q)/PPL(base))} with uncertainty {@code sqrt(σq² + σb² - 2 cov)} where
 *       {@code cov = (E[nll_q nll_b] - E[nll_q] E[nll_b]) / (n - 1)} (0 for {@code n < 10}); the PPL ratio is its
 *       exp; {@code ΔPPL = PPL(Q) - PPL(base)} with uncertainty {@code sqrt(uq² + ub² - 2 PPL(Q) PPL(base) cov)};
 *       percentiles interpolate linearly at {@code fraction · (n - 1)} of the sorted values, the median averages the
 *       two middle values; {@code RMS Δp = sqrt(E[Δp²])} with uncertainty {@code σ(E[Δp²]) / (2 RMS)}; same-top
 *       fraction {@code p} with uncertainty {@code sqrt(p (1 - p) / (n - 1))}.</li>
 * </ul>
 * Where tinyrt differs, on purpose: llama.cpp stores the base model's log-probabilities as 16-bit values (log-probs
 * below {@code max - 16} are clipped and then skipped in the KLD sum); tinyrt keeps both models' logits in memory and
 * computes every term in double precision, so identical models give a KLD of exactly 0. llama.cpp's perplexity mode
 * also demands at least two windows of text; one window is enough here.
 */
package dev.tinyrt.quality;
