package dev.tinyrt.quality;

/**
 * How a candidate's next-token distribution compares with the reference's at one scored position
 * (llama.cpp perplexity.cpp, the {@code log_softmax} overload that fills {@code kl_divergence_result}), every term in
 * double precision.
 *
 * @param nllReference -log p_ref(target)
 * @param nllCandidate -log p_cand(target)
 * @param kld          sum_i p_ref(i) (log p_ref(i) - log p_cand(i)), in nats
 * @param sameTop      both distributions have their maximum at the same token (first index on ties)
 * @param deltaP       p_cand(target) - p_ref(target)
 */
public record TokenComparison(double nllReference, double nllCandidate, double kld, boolean sameTop, double deltaP) {

    public static TokenComparison of(float[] reference, float[] candidate, int target) {
        if (reference.length != candidate.length) {
            throw new IllegalArgumentException("vocabularies differ: " + reference.length + " vs " + candidate.length);
        }
        int topRef = argmax(reference);
        int topCand = argmax(candidate);
        double maxRef = reference[topRef];
        double[] expRef = new double[reference.length]; // kept: p_ref(i) = expRef[i] / sumRef saves one exp per token
        double sumRef = 0;
        for (int i = 0; i < reference.length; i++) {
            expRef[i] = Math.exp(reference[i] - maxRef);
            sumRef += expRef[i];
        }
        double lseRef = maxRef + Math.log(sumRef);
        double lseCand = logSumExp(candidate, candidate[topCand]);
        double kld = 0;
        for (int i = 0; i < reference.length; i++) {
            double p = expRef[i] / sumRef;
            if (p > 0) { // a zero-probability token adds nothing (and -inf logits would give 0 * -inf = NaN)
                kld += p * ((reference[i] - lseRef) - (candidate[i] - lseCand));
            }
        }
        double nllRef = lseRef - reference[target];
        double nllCand = lseCand - candidate[target];
        return new TokenComparison(nllRef, nllCand, kld, topRef == topCand, Math.exp(-nllCand) - Math.exp(-nllRef));
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    static double logSumExp(float[] x, double max) {
        double sum = 0;
        for (float v : x) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }
}
