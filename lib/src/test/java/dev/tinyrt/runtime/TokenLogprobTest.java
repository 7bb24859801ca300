package dev.tinyrt.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TokenLogprobTest {
    @Test
    void topKIsLogSoftmaxOfRawLogitsMostLikelyFirst() {
        float[] logits = {0f, 2f, 1f, 2f, -5f};
        TokenLogprob[] top = TokenLogprob.topK(logits, 3);
        double z = Math.log(Math.exp(0) + 2 * Math.exp(2) + Math.exp(1) + Math.exp(-5));
        assertEquals(3, top.length);
        assertEquals(1, top[0].id());
        assertEquals(3, top[1].id());
        assertEquals(2, top[2].id());
        assertEquals(2 - z, top[0].logprob(), 1e-6);
        assertEquals(1 - z, top[2].logprob(), 1e-6);
        assertEquals(5, TokenLogprob.topK(logits, 10).length);
    }
}
