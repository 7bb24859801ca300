package dev.tinyrt.runtime;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from raw logits according to {@link SamplingParams}; seeded, so runs repeat exactly. */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final long seed;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.seed = params.seed() != null ? params.seed() : new SplittableRandom().nextLong();
        this.random = new SplittableRandom(seed);
    }

    /** The seed in use: the request's, or the one drawn for it (a device sampler draws from the same seed). */
    public long seed() {
        return seed;
    }

    /**
     * @param logits  raw next-token logits (not modified)
     * @param history prompt and generated ids so far, for the repetition penalty
     */
    public int next(float[] logits, int[] history, int historyLength) {
        float[] x = logits;
        if (params.repetitionPenalty() != 1f) {
            x = logits.clone();
            boolean[] seen = new boolean[x.length];
            float penalty = params.repetitionPenalty();
            for (int i = 0; i < historyLength; i++) {
                int id = history[i];
                if (id >= 0 && id < x.length && !seen[id]) {
                    seen[id] = true;
                    x[id] = x[id] > 0 ? x[id] / penalty : x[id] * penalty;
                }
            }
        }
        if (params.isGreedy()) {
            return argmax(x);
        }
        return sample(x);
    }

    /** First index of the maximum, as torch.argmax picks it. */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private int sample(float[] logits) {
        int n = logits.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // Stable sort keeps lower ids first among equal logits, so results do not depend on sort internals.
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = params.topK() > 0 ? Math.min(params.topK(), n) : n;
        double t = params.temperature();
        double max = logits[order[0]] / t;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / t - max);
            sum += p[i];
        }
        if (params.topP() < 1f) {
            // smallest prefix of the sorted tokens whose probability reaches top_p (at least one token)
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cumulative += p[i] / sum;
                if (cumulative >= params.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += p[i];
            }
        }
        double r = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            r -= p[i];
            if (r < 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }
}
