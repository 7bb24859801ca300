package dev.tinyrt.quality;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The metric definitions on inputs small enough to work out by hand. */
class QualityMetricsTest {
    private static final double LN2 = Math.log(2);
    private static final double EPS = 1e-7; // logits are floats: ln(1/2) etc. are rounded to 24 bits

    /** Logits whose softmax is {@code probs}. */
    private static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    // Next-token distributions of a toy vocabulary of 4, chosen by the token at each position.
    private static final float[][] REF = {
            logitsOf(0.5, 0.25, 0.125, 0.125),
            logitsOf(0.25, 0.25, 0.25, 0.25),
            logitsOf(0.125, 0.125, 0.25, 0.5),
            logitsOf(0.5, 0.25, 0.125, 0.125)};
    private static final float[][] CAND = {
            logitsOf(0.25, 0.5, 0.125, 0.125),   // KL = 1/2 ln2 - 1/4 ln2 = ln2/4, top 0 vs 1
            logitsOf(0.25, 0.25, 0.25, 0.25),
            logitsOf(0.125, 0.125, 0.5, 0.25),   // KL = ln2/4, top 3 vs 2
            logitsOf(0.5, 0.25, 0.125, 0.125)};  // KL = 0, same top
    private static final float[] GARBAGE = {100f, -100f, 50f, 7f};

    /** Logits by input token; rows of the first half are garbage, which must never reach the statistics. */
    private record TableSource(float[][] table, List<int[]> seen) implements LogitSource {
        @Override
        public float[][] logits(int[] ids) {
            seen.add(ids.clone());
            float[][] out = new float[ids.length][];
            for (int p = 0; p < ids.length; p++) {
                out[p] = p < ids.length / 2 ? GARBAGE : table[ids[p]];
            }
            return out;
        }
    }

    @Test
    void tokenComparisonOfHandPickedDistributions() {
        TokenComparison t = TokenComparison.of(REF[0], CAND[0], 1);
        assertEquals(LN2 / 4, t.kld(), EPS);
        assertEquals(2 * LN2, t.nllReference(), EPS);
        assertEquals(LN2, t.nllCandidate(), EPS);
        assertEquals(0.25, t.deltaP(), EPS);
        assertFalse(t.sameTop());

        TokenComparison same = TokenComparison.of(REF[1], REF[1], 3);
        assertEquals(0.0, same.kld(), "identical logits give exactly 0");
        assertEquals(0.0, same.deltaP());
        assertTrue(same.sameTop(), "ties resolve to the first index on both sides");
    }

    @Test
    void twoWindowsScoreOnlyTheirSecondHalves() {
        // ctx 6: positions 3 and 4 of each window are scored (predicting tokens 4 and 5); the 13th token is left over.
        int[] tokens = {1, 3, 2, 0, 0, 1, /* window 2 */ 2, 2, 2, 2, 3, 1, /* dropped */ 0};
        List<int[]> refSeen = new ArrayList<>();
        var ref = new TableSource(REF, refSeen);
        var cand = new TableSource(CAND, new ArrayList<>());
        QualityResult r = QualityEvaluator.evaluate(ref, "ref", new QualityEvaluator.Candidate("cand", cand), tokens,
                new QualityEvaluator.Options(6, 0, 3));

        assertEquals(2, r.windows());
        assertEquals(4, r.tokensScored());
        assertEquals(2, refSeen.size());
        assertArrayEquals(new int[]{3, 3, 2, 0, 0, 1}, refSeen.get(0), "first token replaced by BOS (3)");
        assertArrayEquals(new int[]{3, 2, 2, 2, 3, 1}, refSeen.get(1));

        // scored (input -> target): 0->0, 0->1, 2->3, 3->1
        //   nll_ref  (units of ln2): 1, 2, 1, 2   -> mean 1.5
        //   nll_cand (units of ln2): 2, 1, 2, 2   -> mean 1.75
        //   KLD: ln2/4, ln2/4, ln2/4, 0; same top: no, no, no, yes; Δp: -1/4, +1/4, -1/4, 0
        assertEquals(Math.pow(2, 1.5), r.pplReference().value(), 1e-6);
        assertEquals(Math.pow(2, 1.75), r.pplCandidate().value(), 1e-6);
        assertEquals(Math.pow(2, 1.75) - Math.pow(2, 1.5), r.deltaPpl().value(), 1e-6);
        assertEquals(0.25 * LN2, r.lnPplRatio().value(), EPS);
        assertEquals(Math.pow(2, 0.25), r.pplRatio().value(), 1e-6);
        assertEquals(0.75 * LN2 / 4, r.meanKld().value(), EPS);
        assertEquals(0.0, r.meanKld().uncertainty(), "llama.cpp gives no uncertainty for 10 values or fewer");
        assertEquals(0.25, r.sameTop().value());
        assertEquals(Math.sqrt(0.25 * 0.75 / 3), r.sameTop().uncertainty(), 1e-12);
        // sorted KLD [0, a, a, a]: median (a + a) / 2, p99 at 2.97 -> a, p25 at 0.75 -> 0.75 a
        double a = LN2 / 4;
        assertEquals(0.0, r.kld().min(), EPS);
        assertEquals(a, r.kld().median(), EPS);
        assertEquals(0.75 * a, r.kld().p25(), EPS);
        assertEquals(a, r.kld().p99(), EPS);
        assertEquals(a, r.kld().max(), EPS);
        // sorted Δp [-1/4, -1/4, 0, 1/4]
        assertEquals(-0.0625, r.meanDeltaP().value(), EPS);
        assertEquals(Math.sqrt(3 * 0.0625 / 4), r.rmsDeltaP().value(), EPS);
        assertEquals(-0.125, r.deltaP().median(), EPS);
        assertEquals(0.25, r.deltaP().max(), EPS);

        // PPL 2^1.75, ΔPPL 2^1.75 - 2^1.5, mean KLD 0.1875 ln2 = 0.130, p99 ln2/4 = 0.173, 25 % same top
        assertEquals("| cand | 3.3636 ± 0.0000 | +0.5352 ± 0.0000 | 0.130 ± 0 | 0.173 | 25.000 ± 25.000 | 4 |",
                QualityReport.markdown(List.of(r)).lines().toList().get(2));
    }

    @Test
    void maxWindowsCapsTheWindowCount() {
        int[] tokens = {1, 3, 2, 0, 0, 1, 2, 2, 2, 2, 3, 1};
        QualityResult r = QualityEvaluator.evaluate(new TableSource(REF, new ArrayList<>()), "ref",
                new QualityEvaluator.Candidate("c", new TableSource(CAND, new ArrayList<>())), tokens,
                new QualityEvaluator.Options(6, 1, 3));
        assertEquals(1, r.windows());
        assertEquals(2, r.tokensScored());
        assertEquals(LN2 / 4, r.meanKld().value(), EPS);
    }

    @Test
    void percentilesInterpolateLikeLlamaCpp() {
        double[] v = {5, 1, 4, 2, 3};
        Percentiles p = Percentiles.of(v);
        assertEquals(1, p.min());
        assertEquals(3, p.median());
        assertEquals(4 * 0.04 + 5 * 0.96, p.p99(), 1e-12);   // at 0.99 * 4 = 3.96
        assertEquals(1 * 0.6 + 2 * 0.4, p.p10(), 1e-12);     // at 0.10 * 4 = 0.4
        assertEquals(4.8, p.p95(), 1e-12);                   // at 3.8
        assertEquals(5, p.max());
        assertEquals(2.5, Percentiles.of(new double[]{4, 1, 3, 2}).median(), "even count: mean of the middle two");
    }

    @Test
    void meanUncertaintyIsTheStandardErrorFromElevenValuesOn() {
        double sum = 0;
        double sum2 = 0;
        for (int i = 1; i <= 11; i++) {
            sum += i;
            sum2 += i * i;
        }
        Estimate e = Estimate.mean(sum, sum2, 11);
        assertEquals(6, e.value(), 1e-12);
        assertEquals(1.0, e.uncertainty(), 1e-12); // population variance 10, / (n - 1) = 1
        assertEquals(0.0, Estimate.mean(sum - 11, sum2 - 121, 10).uncertainty());
    }

    @Test
    void identicalSourcesGiveZeroDivergenceAndFullCorrelation() {
        int[] tokens = new int[6 * 5];
        java.util.Random random = new java.util.Random(4);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(4);
        }
        var ref = new TableSource(REF, new ArrayList<>());
        QualityResult r = QualityEvaluator.evaluate(ref, "ref", new QualityEvaluator.Candidate("same",
                new TableSource(REF, new ArrayList<>())), tokens, new QualityEvaluator.Options(6, 0, 0));
        assertEquals(10, r.tokensScored());
        assertEquals(0.0, r.meanKld().value());
        assertEquals(0.0, r.kld().max());
        assertEquals(1.0, r.sameTop().value());
        assertEquals(0.0, r.deltaPpl().value());
        assertEquals(0.0, r.rmsDeltaP().value());
    }
}
