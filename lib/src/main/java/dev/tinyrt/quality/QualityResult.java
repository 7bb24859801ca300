package dev.tinyrt.quality;

/**
 * One candidate against the reference over the scored tokens (see the package documentation for the definitions).
 *
 * @param label          the candidate's name (e.g. "bf16", "int4_awq")
 * @param reference      the reference's name
 * @param contextSize    tokens per window
 * @param windows        windows evaluated
 * @param tokensScored   scored tokens: {@code windows · (contextSize - 1 - contextSize / 2)}
 * @param pplReference   PPL(base)
 * @param pplCandidate   PPL(Q)
 * @param pplCorrelation Cor(ln PPL(Q), ln PPL(base)), NaN when undefined
 * @param lnPplRatio     ln(PPL(Q) / PPL(base))
 * @param pplRatio       PPL(Q) / PPL(base)
 * @param deltaPpl       PPL(Q) - PPL(base)
 * @param meanKld        mean KL divergence in nats
 * @param kld            per-token KLD distribution
 * @param meanDeltaP     mean p_cand(target) - p_ref(target), a probability (not percent)
 * @param rmsDeltaP      root mean square of Δp
 * @param deltaP         per-token Δp distribution
 * @param sameTop        fraction of positions whose argmax agrees (not percent)
 */
public record QualityResult(String label, String reference, int contextSize, int windows, long tokensScored,
                            Estimate pplReference, Estimate pplCandidate, double pplCorrelation, Estimate lnPplRatio,
                            Estimate pplRatio, Estimate deltaPpl, Estimate meanKld, Percentiles kld,
                            Estimate meanDeltaP, Estimate rmsDeltaP, Percentiles deltaP, Estimate sameTop) {

    public QualityResult withLabels(String label, String reference) {
        return new QualityResult(label, reference, contextSize, windows, tokensScored, pplReference, pplCandidate,
                pplCorrelation, lnPplRatio, pplRatio, deltaPpl, meanKld, kld, meanDeltaP, rmsDeltaP, deltaP, sameTop);
    }
}
