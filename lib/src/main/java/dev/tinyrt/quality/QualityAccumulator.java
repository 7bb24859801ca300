package dev.tinyrt.quality;

import java.util.Arrays;

/**
 * Running sums over scored tokens, the same ones llama.cpp keeps in {@code kl_divergence_result}, plus every
 * per-token KLD and Δp for the percentiles; {@link #result} turns them into the statistics llama.cpp prints.
 */
public final class QualityAccumulator {
    private double sumNll;
    private double sumNll2;
    private double sumNllBase;
    private double sumNllBase2;
    private double sumNllNllBase;
    private double sumKld;
    private double sumKld2;
    private double sumDeltaP;
    private double sumDeltaP2;
    private double sumDeltaP4;
    private long sameTop;
    private int count;
    private double[] klds = new double[1024];
    private double[] deltaPs = new double[1024];

    public void add(TokenComparison t) {
        sumNll += t.nllCandidate();
        sumNll2 += t.nllCandidate() * t.nllCandidate();
        sumNllBase += t.nllReference();
        sumNllBase2 += t.nllReference() * t.nllReference();
        sumNllNllBase += t.nllCandidate() * t.nllReference();
        sumKld += t.kld();
        sumKld2 += t.kld() * t.kld();
        double d2 = t.deltaP() * t.deltaP();
        sumDeltaP += t.deltaP();
        sumDeltaP2 += d2;
        sumDeltaP4 += d2 * d2;
        if (t.sameTop()) {
            sameTop++;
        }
        if (count == klds.length) {
            klds = Arrays.copyOf(klds, 2 * count);
            deltaPs = Arrays.copyOf(deltaPs, 2 * count);
        }
        klds[count] = t.kld();
        deltaPs[count] = t.deltaP();
        count++;
    }

    public int count() {
        return count;
    }

    /** Statistics over everything added so far; needs at least one token. */
    public QualityResult result(String label, String reference, int contextSize, int windows) {
        if (count == 0) {
            throw new IllegalStateException("no tokens scored");
        }
        Estimate logPpl = Estimate.mean(sumNll, sumNll2, count);
        Estimate logPplBase = Estimate.mean(sumNllBase, sumNllBase2, count);
        double cov = covariance(sumNll, sumNllBase, sumNllNllBase, count);
        Estimate ppl = logPpl.exp();
        Estimate pplBase = logPplBase.exp();
        double correlation = cov / (logPpl.uncertainty() * logPplBase.uncertainty());
        Estimate lnRatio = new Estimate(logPpl.value() - logPplBase.value(), rootOfVariance(
                sq(logPpl.uncertainty()) + sq(logPplBase.uncertainty()) - 2 * cov));
        double pplCov = ppl.value() * pplBase.value() * cov;
        Estimate delta = new Estimate(ppl.value() - pplBase.value(), rootOfVariance(
                sq(ppl.uncertainty()) + sq(pplBase.uncertainty()) - 2 * pplCov));
        Estimate meanSquare = Estimate.mean(sumDeltaP2, sumDeltaP4, count);
        double rms = Math.sqrt(meanSquare.value());
        Estimate rmsDeltaP = new Estimate(rms, rms > 0 ? 0.5 / rms * meanSquare.uncertainty() : 0);
        double top = (double) sameTop / count;
        Estimate sameTopFraction = new Estimate(top, count > 1 ? Math.sqrt(top * (1 - top) / (count - 1)) : 0);
        return new QualityResult(label, reference, contextSize, windows, count, pplBase, ppl,
                Double.isFinite(correlation) ? correlation : Double.NaN, lnRatio, lnRatio.exp(), delta,
                Estimate.mean(sumKld, sumKld2, count), Percentiles.of(Arrays.copyOf(klds, count)),
                Estimate.mean(sumDeltaP, sumDeltaP2, count), rmsDeltaP, Percentiles.of(Arrays.copyOf(deltaPs, count)),
                sameTopFraction);
    }

    /** llama.cpp's {@code covariance}: of the two means, 0 for fewer than ten values. */
    static double covariance(double sumA, double sumB, double sumAB, long count) {
        if (count < 10) {
            return 0;
        }
        return (sumAB / count - (sumA / count) * (sumB / count)) / (count - 1);
    }

    /** A variance of a difference can round to just below 0 when both sides are the same model. */
    private static double rootOfVariance(double variance) {
        return Math.sqrt(Math.max(0, variance));
    }

    private static double sq(double x) {
        return x * x;
    }
}
