package dev.tinyrt.runtime;

/** One entry of a top-k log-probability list: log-softmax of the raw logits. */
public record TokenLogprob(int id, float logprob) {

    /** The k most likely tokens of {@code logits}, most likely first. */
    public static TokenLogprob[] topK(float[] logits, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double logZ = max + Math.log(sum);
        int n = Math.min(k, logits.length);
        int[] best = new int[n];
        int found = 0;
        // partial selection: k is small (a handful), the vocabulary large
        for (int i = 0; i < logits.length; i++) {
            if (found < n) {
                best[found++] = i;
                siftUp(best, found - 1, logits);
            } else if (logits[i] > logits[best[n - 1]]) {
                best[n - 1] = i;
                siftUp(best, n - 1, logits);
            }
        }
        TokenLogprob[] out = new TokenLogprob[n];
        for (int i = 0; i < n; i++) {
            out[i] = new TokenLogprob(best[i], (float) (logits[best[i]] - logZ));
        }
        return out;
    }

    /** Insertion step keeping {@code best[0..i]} sorted by descending logit (ties: lower id first). */
    private static void siftUp(int[] best, int i, float[] logits) {
        while (i > 0 && logits[best[i]] > logits[best[i - 1]]) {
            int t = best[i];
            best[i] = best[i - 1];
            best[i - 1] = t;
            i--;
        }
    }
}
