package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.runtime.StepStats;

import java.util.List;

/**
 * Step time as a linear function of the work in a step, fitted by least squares to a measured run:
 * {@code t = fixed + perPrefillToken · prefill + perDecodeToken · decodes + perContextToken · held tokens}
 * (weights are read once per step; every new token costs matmuls; attention reads every held token). With the
 * steps of a proxy run ({@link ProxyScheduler}) it predicts how long the target takes for a workload it has not
 * run. {@code overhead} scales step time to wall time (scheduling and the gaps between steps).
 */
public record StepTimeModel(double fixedNanos, double perPrefillToken, double perDecodeToken,
                            double perContextToken, double overhead, double rSquared, String fittedOn) {

    public static StepTimeModel fit(RunResult run) {
        return fit(List.of(run));
    }

    /** One model over the steps of several runs (runs at different times average out a shared machine's load). */
    public static StepTimeModel fit(List<RunResult> runs) {
        List<RunResult.Step> steps = runs.stream().flatMap(r -> r.steps().stream()).toList();
        if (steps.size() < 8) {
            throw new TinyrtException("need at least 8 steps to fit a step-time model, the run had " + steps.size());
        }
        double[][] ata = new double[4][4];
        double[] atb = new double[4];
        for (RunResult.Step s : steps) {
            double[] x = features(s.stats());
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    ata[i][j] += x[i] * x[j];
                }
                atb[i] += x[i] * s.stats().nanos();
            }
        }
        double[] c = solve(ata, atb);
        double mean = steps.stream().mapToLong(s -> s.stats().nanos()).average().orElse(0);
        double ssRes = 0;
        double ssTot = 0;
        double stepSum = 0;
        for (RunResult.Step s : steps) {
            double predicted = dot(c, features(s.stats()));
            ssRes += Math.pow(s.stats().nanos() - predicted, 2);
            ssTot += Math.pow(s.stats().nanos() - mean, 2);
            stepSum += s.stats().nanos();
        }
        double wall = runs.stream().mapToLong(RunResult::wallNanos).sum();
        String on = runs.stream().map(r -> r.workload() + " " + r.mode().name())
                .collect(java.util.stream.Collectors.joining(", "));
        return new StepTimeModel(c[0], c[1], c[2], c[3], wall / stepSum, ssTot == 0 ? 1 : 1 - ssRes / ssTot, on);
    }

    /** Predicted nanoseconds of one step. */
    public double stepNanos(StepStats s) {
        return Math.max(0, dot(new double[]{fixedNanos, perPrefillToken, perDecodeToken, perContextToken},
                features(s)));
    }

    /** Predicted wall time of a run with these steps. */
    public double wallNanos(List<RunResult.Step> steps) {
        return overhead * steps.stream().mapToDouble(s -> stepNanos(s.stats())).sum();
    }

    /**
     * The run with every step's duration replaced by the prediction (times the overhead factor), so its
     * time-weighted averages and its throughput are the target's, not the proxy's.
     */
    public RunResult retime(RunResult run) {
        List<RunResult.Step> steps = new java.util.ArrayList<>();
        double at = 0;
        for (RunResult.Step step : run.steps()) {
            StepStats s = step.stats();
            long nanos = Math.round(overhead * stepNanos(s));
            at += nanos;
            steps.add(new RunResult.Step(Math.round(at), new StepStats(s.step(), nanos, s.sequences(),
                    s.prefillTokens(), s.decodeTokens(), s.waiting(), s.blocksUsed(), s.blocksFree(), s.blocksShared(),
                    s.usedTokens(), s.blockSize())));
        }
        return new RunResult(run.workload(), run.mode(), run.budgetBytes(), run.bytesPerToken(), run.numBlocks(),
                steps, run.poolMeasured(), Math.round(at), run.requests(), run.promptTokens(), run.outputTokens(),
                run.prefixHitBlocks());
    }

    private static double[] features(StepStats s) {
        return new double[]{1, s.prefillTokens(), s.decodeTokens(), s.usedTokens()};
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /**
     * Solves the normal equations {@code a x = b} by Gaussian elimination with partial pivoting, after scaling
     * every feature to unit size and adding a tiny ridge: a feature that never varies (no prefill in a run, say)
     * then gets a coefficient of about 0 instead of making the system singular.
     */
    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) {
            scale[i] = a[i][i] > 0 ? Math.sqrt(a[i][i]) : 1;
        }
        double[][] m = new double[n][n + 1];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                m[i][j] = a[i][j] / (scale[i] * scale[j]) + (i == j ? 1e-9 : 0);
            }
            m[i][n] = b[i] / scale[i];
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) {
                    pivot = r;
                }
            }
            double[] tmp = m[col];
            m[col] = m[pivot];
            m[pivot] = tmp;
            for (int r = col + 1; r < n; r++) {
                double f = m[r][col] / m[col][col];
                for (int j = col; j <= n; j++) {
                    m[r][j] -= f * m[col][j];
                }
            }
        }
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double s = m[i][n];
            for (int j = i + 1; j < n; j++) {
                s -= m[i][j] * x[j];
            }
            x[i] = s / m[i][i];
        }
        for (int i = 0; i < n; i++) {
            x[i] /= scale[i];
        }
        return x;
    }

    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("formula", "step_ns = fixed + per_prefill_token*prefill + per_decode_token*decodes "
                + "+ per_context_token*held_tokens; wall = overhead * sum(step_ns)");
        n.put("fixed_ns", fixedNanos);
        n.put("per_prefill_token_ns", perPrefillToken);
        n.put("per_decode_token_ns", perDecodeToken);
        n.put("per_context_token_ns", perContextToken);
        n.put("overhead", overhead);
        n.put("r_squared", rSquared);
        n.put("fitted_on", fittedOn);
        return n;
    }
}
