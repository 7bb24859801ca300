package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenNormDistTest {
    private static final Set<Integer> SPECIAL = Set.of(0, 1, 2);

    @Test
    void sameSeedSameRequestsOtherSeedOthers() {
        List<BenchRequest> a = new TokenNormDist(20, 30, 5, 10, 2, 1, 100, 100, 500, SPECIAL, 7).generate();
        assertEquals(a, new TokenNormDist(20, 30, 5, 10, 2, 1, 100, 100, 500, SPECIAL, 7).generate());
        assertNotEquals(a, new TokenNormDist(20, 30, 5, 10, 2, 1, 100, 100, 500, SPECIAL, 8).generate());
        assertEquals(List.of(0, 1, 2, 3, 4), a.stream().limit(5).map(BenchRequest::taskId).toList());
    }

    @Test
    void idsAreInTheVocabularyAndNeverSpecial() {
        int vocab = 12;
        List<BenchRequest> reqs = TokenNormDist.fixed(50, 64, 4, vocab, SPECIAL, 3).generate();
        int[] seen = new int[vocab];
        for (BenchRequest r : reqs) {
            for (int id : r.inputIds()) {
                assertTrue(id >= 3 && id < vocab, "id " + id);
                seen[id]++;
            }
        }
        assertTrue(Arrays.stream(seen, 3, vocab).allMatch(c -> c > 0), "every ordinary id is drawn");
    }

    @Test
    void zeroStdevGivesFixedLengths() {
        for (BenchRequest r : TokenNormDist.fixed(30, 128, 16, 32000, SPECIAL, 0).generate()) {
            assertEquals(128, r.inputLength());
            assertEquals(16, r.outputTokens());
        }
    }

    @Test
    void lengthsFollowTheRequestedNormalDistribution() {
        List<BenchRequest> reqs = new TokenNormDist(4000, 200, 20, 50, 5, 1, 10_000, 10_000, 1000, SPECIAL, 11)
                .generate();
        double[] in = reqs.stream().mapToDouble(BenchRequest::inputLength).toArray();
        double[] out = reqs.stream().mapToDouble(BenchRequest::outputTokens).toArray();
        // lengths are ceil(x): the mean moves up by half a token
        assertEquals(200.5, mean(in), 1.0);
        assertEquals(20, stdev(in), 1.0);
        assertEquals(50.5, mean(out), 0.3);
        assertEquals(5, stdev(out), 0.3);
    }

    @Test
    void lengthsStayWithinMinAndMax() {
        List<BenchRequest> reqs = new TokenNormDist(500, 10, 20, 10, 20, 5, 30, 25, 100, SPECIAL, 1).generate();
        int[] in = reqs.stream().mapToInt(BenchRequest::inputLength).toArray();
        int[] out = reqs.stream().mapToInt(BenchRequest::outputTokens).toArray();
        assertEquals(5, Arrays.stream(in).min().orElseThrow());
        assertEquals(30, Arrays.stream(in).max().orElseThrow());
        assertEquals(5, Arrays.stream(out).min().orElseThrow());
        assertEquals(25, Arrays.stream(out).max().orElseThrow());
    }

    @Test
    void badSettingsAreUserErrors() {
        assertThrows(TinyrtException.class, () -> TokenNormDist.fixed(0, 8, 8, 100, SPECIAL, 0));
        assertThrows(TinyrtException.class, () -> new TokenNormDist(1, 8, -1, 8, 0, 1, 9, 9, 100, SPECIAL, 0));
        assertThrows(TinyrtException.class, () -> TokenNormDist.fixed(1, 8, 8, 3, SPECIAL, 0));
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElseThrow();
    }

    private static double stdev(double[] v) {
        double m = mean(v);
        return Math.sqrt(Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / (v.length - 1));
    }

    @Test
    void aSharedPrefixStartsEveryPromptAndLeavesTheRestAsItWas() {
        TokenNormDist d = TokenNormDist.fixed(30, 64, 4, 500, SPECIAL, 5);
        List<BenchRequest> plain = d.generate();
        List<BenchRequest> shared = d.generate(48);
        int[] prefix = Arrays.copyOf(shared.get(0).inputIds(), 48);
        for (int i = 0; i < plain.size(); i++) {
            int[] p = plain.get(i).inputIds();
            int[] s = shared.get(i).inputIds();
            assertEquals(p.length, s.length);
            assertTrue(Arrays.equals(prefix, Arrays.copyOf(s, 48)), "request " + i + " starts with the prefix");
            assertTrue(Arrays.equals(Arrays.copyOfRange(p, 48, 64), Arrays.copyOfRange(s, 48, 64)));
            assertTrue(Arrays.stream(s).allMatch(id -> id >= 3 && id < 500));
        }
        assertNotEquals(Arrays.toString(prefix), Arrays.toString(Arrays.copyOf(plain.get(0).inputIds(), 48)));
        var e = assertThrows(TinyrtException.class, () -> d.generate(64));
        assertTrue(e.getMessage().contains("shorter than every prompt (shortest possible: 64"), e.getMessage());
        var spread = new TokenNormDist(10, 64, 8, 4, 0, 1, 100, 4, 500, SPECIAL, 1);
        assertThrows(TinyrtException.class, () -> spread.generate(32));
        assertEquals(10, new TokenNormDist(10, 64, 8, 40, 0, 40, 100, 40, 500, SPECIAL, 1).generate(32).size());
    }
}
