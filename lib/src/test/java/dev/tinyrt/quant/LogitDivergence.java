package dev.tinyrt.quant;

import dev.tinyrt.model.LlamaModel;

import java.util.ArrayList;
import java.util.List;

/** Test helper: mean KL(reference ‖ candidate) of next-token distributions over token windows. */
public final class LogitDivergence {
    private LogitDivergence() {
    }

    /** Windows of {@code len} tokens cut from a long token stream, evenly spaced, each starting with {@code bos}. */
    public static List<int[]> windows(int[] stream, int count, int len, int bos) {
        List<int[]> out = new ArrayList<>();
        long span = stream.length - len;
        for (int i = 0; i < count; i++) {
            int start = (int) (span * i / count);
            int[] w = new int[len];
            w[0] = bos;
            System.arraycopy(stream, start, w, 1, len - 1);
            out.add(w);
        }
        return out;
    }

    public static double[][] logProbs(LlamaModel model, int[] ids) {
        float[][] logits = model.promptLogits(ids);
        double[][] lp = new double[logits.length][];
        for (int t = 0; t < logits.length; t++) {
            float[] z = logits[t];
            double max = Double.NEGATIVE_INFINITY;
            for (float v : z) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : z) {
                sum += Math.exp(v - max);
            }
            double log = max + Math.log(sum);
            lp[t] = new double[z.length];
            for (int i = 0; i < z.length; i++) {
                lp[t][i] = z[i] - log;
            }
        }
        return lp;
    }

    /** Mean over positions of KL(p ‖ q) for log-probabilities {@code [positions][vocab]}. */
    public static double meanKl(double[][] p, double[][] q) {
        double total = 0;
        for (int t = 0; t < p.length; t++) {
            double kl = 0;
            for (int i = 0; i < p[t].length; i++) {
                kl += Math.exp(p[t][i]) * (p[t][i] - q[t][i]);
            }
            total += kl;
        }
        return total / p.length;
    }

    /** Mean negative log-likelihood of the next token (log-perplexity) over a window. */
    public static double meanNll(double[][] lp, int[] ids) {
        double total = 0;
        for (int t = 0; t + 1 < ids.length; t++) {
            total -= lp[t][ids[t + 1]];
        }
        return total / (ids.length - 1);
    }
}
