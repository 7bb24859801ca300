package dev.tinyrt.runtime;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};

    private static SamplingParams sampling(float t, int k, float p, long seed) {
        return new SamplingParams(t, k, p, 1f, seed, 10, List.of(), false, 0);
    }

    private static Map<Integer, Integer> histogram(SamplingParams params, int draws) {
        Sampler s = new Sampler(params);
        Map<Integer, Integer> h = new HashMap<>();
        for (int i = 0; i < draws; i++) {
            h.merge(s.next(LOGITS, new int[0], 0), 1, Integer::sum);
        }
        return h;
    }

    @Test
    void greedyTakesTheFirstMaximumLikeTorchArgmax() {
        assertEquals(1, new Sampler(SamplingParams.greedy(1)).next(LOGITS, new int[0], 0));
    }

    @Test
    void repetitionPenaltyFollowsHfDivideOrMultiply() {
        // token 1 (logit 3 > 0) is divided by 2 -> 1.5; token 3 stays 3 and now wins
        SamplingParams p = SamplingParams.greedy(1).withRepetitionPenalty(2f);
        assertEquals(3, new Sampler(p).next(LOGITS, new int[]{1}, 1));
        // a negative logit is multiplied: token 1 (-1) -> -2 falls below token 0 (-1.5)
        assertEquals(0, new Sampler(p).next(new float[]{-1.5f, -1f}, new int[]{1}, 1));
        // each token is penalised once however often it occurred
        assertEquals(1, new Sampler(p).next(new float[]{0.9f, 2f}, new int[]{1, 1, 1}, 3));
    }

    @Test
    void topKOneIsGreedyAndTopKRestrictsTheSupport() {
        assertEquals(Map.of(1, 500), histogram(sampling(1f, 1, 1f, 7), 500));
        Map<Integer, Integer> top2 = histogram(sampling(1f, 2, 1f, 7), 2000);
        assertEquals(java.util.Set.of(1, 3), top2.keySet());
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // probabilities: ids 1 and 3 share ~0.42 each, id 2 ~0.16: top_p 0.5 keeps {1, 3}, 0.9 adds 2
        assertEquals(java.util.Set.of(1, 3), histogram(sampling(1f, 0, 0.5f, 3), 3000).keySet());
        assertEquals(java.util.Set.of(1, 2, 3), histogram(sampling(1f, 0, 0.9f, 3), 3000).keySet());
    }

    @Test
    void samplingFollowsTheSoftmaxDistribution() {
        Map<Integer, Integer> h = histogram(sampling(1f, 0, 1f, 42), 40000);
        double z = 0;
        for (float v : LOGITS) {
            z += Math.exp(v);
        }
        for (int id = 0; id < LOGITS.length; id++) {
            double expected = Math.exp(LOGITS[id]) / z;
            double seen = h.getOrDefault(id, 0) / 40000.0;
            assertEquals(expected, seen, 0.01, "id " + id);
        }
    }

    @Test
    void lowTemperatureSharpens() {
        Map<Integer, Integer> h = histogram(sampling(0.05f, 0, 1f, 1), 2000);
        assertEquals(0, h.getOrDefault(2, 0) + h.getOrDefault(0, 0) + h.getOrDefault(4, 0));
    }

    @Test
    void sameSeedSameTokens() {
        assertEquals(histogram(sampling(1f, 0, 0.95f, 99), 300), histogram(sampling(1f, 0, 0.95f, 99), 300));
    }

    @Test
    void badParametersAreUserErrors() {
        assertThrows(dev.tinyrt.TinyrtException.class, () -> sampling(-1f, 0, 1f, 1));
        assertThrows(dev.tinyrt.TinyrtException.class, () -> sampling(1f, -2, 1f, 1));
        assertThrows(dev.tinyrt.TinyrtException.class, () -> sampling(1f, 0, 0f, 1));
        assertThrows(dev.tinyrt.TinyrtException.class, () -> SamplingParams.greedy(1).withRepetitionPenalty(0f));
        assertTrue(SamplingParams.greedy(3).isGreedy());
    }
}
