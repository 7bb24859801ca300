package dev.tinyrt.io;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NumericsTest {

    private static short s(int bits) {
        return (short) bits;
    }

    private static int f16(float v) {
        return Numerics.floatToF16(v) & 0xFFFF;
    }

    private static int bf16(int floatBits) {
        return Numerics.floatToBf16(Float.intBitsToFloat(floatBits)) & 0xFFFF;
    }

    private static int e4m3(float v) {
        return Numerics.floatToE4m3(v) & 0xFF;
    }

    @Test
    void f16KnownBitPatterns() {
        assertEquals(1.0f, Numerics.f16ToFloat(s(0x3C00)));
        assertEquals(65504f, Numerics.f16ToFloat(s(0x7BFF)));
        assertEquals(0x1p-24f, Numerics.f16ToFloat(s(0x0001)));
        assertEquals(0x1p-14f, Numerics.f16ToFloat(s(0x0400)));
        assertEquals(-2f, Numerics.f16ToFloat(s(0xC000)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Numerics.f16ToFloat(s(0x8000))));
        assertEquals(Float.POSITIVE_INFINITY, Numerics.f16ToFloat(s(0x7C00)));
        assertTrue(Float.isNaN(Numerics.f16ToFloat(s(0x7E00))));

        assertEquals(0x3C00, f16(1f));
        assertEquals(0x7BFF, f16(65504f));
        assertEquals(0x7BFF, f16(65519.99f)); // below the midpoint to the next (missing) step
        assertEquals(0x7C00, f16(65520f)); // the midpoint rounds to even, which is infinity
        assertEquals(0x0000, f16(0x1p-25f)); // half the smallest subnormal: tie to even (0)
        assertEquals(0x0002, f16(0x3p-25f)); // 1.5 subnormal steps: tie to even (2)
        assertEquals(0x3C00, f16(Float.intBitsToFloat(0x3F801000))); // 1 + 2^-11: tie to even, down
        assertEquals(0x3C02, f16(Float.intBitsToFloat(0x3F803000))); // 1 + 3*2^-11: tie to even, up
    }

    @Test
    void f16EveryNonNanPatternRoundTrips() {
        for (int b = 0; b < 0x10000; b++) {
            float v = Numerics.f16ToFloat(s(b));
            if (!Float.isNaN(v)) {
                assertEquals(b, f16(v), "0x" + Integer.toHexString(b));
            }
        }
    }

    @Test
    void bf16KnownBitPatternsAndRounding() {
        assertEquals(1.0f, Numerics.bf16ToFloat(s(0x3F80)));
        assertEquals(-0x1p-133f, Numerics.bf16ToFloat(s(0x8001))); // smallest negative subnormal
        assertEquals(Float.NEGATIVE_INFINITY, Numerics.bf16ToFloat(s(0xFF80)));

        assertEquals(0x3F80, bf16(0x3F800000));
        assertEquals(0x3F80, bf16(0x3F808000)); // exact tie, lower neighbour even
        assertEquals(0x3F82, bf16(0x3F818000)); // exact tie, upper neighbour even
        assertEquals(0x3F81, bf16(0x3F808001)); // just above the tie
        assertEquals(0x3F80, bf16(0x3F807FFF)); // just below the tie
        assertEquals(0x7F80, bf16(0x7F7FFFFF)); // Float.MAX_VALUE rounds to infinity
        assertEquals(0xFF80, bf16(0xFF800000)); // -infinity stays
        // NaN is preserved (as a quiet NaN with its sign) even when its payload sits only in the dropped bits.
        assertEquals(0x7FC0, bf16(0x7F800001));
        assertEquals(0xFFC0, bf16(0xFF800001));
        assertEquals(0x7FC0, bf16(0x7FC00000));
        assertTrue(Float.isNaN(Numerics.bf16ToFloat(s(bf16(0x7F800001)))));
    }

    @Test
    void bf16EveryNonNanPatternRoundTrips() {
        for (int b = 0; b < 0x10000; b++) {
            float v = Numerics.bf16ToFloat(s(b));
            if (!Float.isNaN(v)) {
                assertEquals(b, bf16(Float.floatToRawIntBits(v)), "0x" + Integer.toHexString(b));
            }
        }
    }

    @Test
    void e4m3KnownBitPatterns() {
        assertEquals(448f, Numerics.e4m3ToFloat((byte) 0x7E));
        assertEquals(-448f, Numerics.e4m3ToFloat((byte) 0xFE));
        assertEquals(0x1p-6f, Numerics.e4m3ToFloat((byte) 0x08));
        assertEquals(0x1p-9f, Numerics.e4m3ToFloat((byte) 0x01));
        assertEquals(0x7p-9f, Numerics.e4m3ToFloat((byte) 0x07));
        assertEquals(1f, Numerics.e4m3ToFloat((byte) 0x38));
        assertEquals(1.125f, Numerics.e4m3ToFloat((byte) 0x39));
        assertEquals(-3f, Numerics.e4m3ToFloat((byte) 0xC4));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Numerics.e4m3ToFloat((byte) 0x80)));
        assertTrue(Float.isNaN(Numerics.e4m3ToFloat((byte) 0x7F)));
        assertTrue(Float.isNaN(Numerics.e4m3ToFloat((byte) 0xFF)));
        // 0x78..0x7E are finite (no infinities in e4m3fn)
        assertEquals(256f, Numerics.e4m3ToFloat((byte) 0x78));
    }

    @Test
    void e4m3EncodingRoundsSaturatesAndKeepsNan() {
        assertEquals(0x7E, e4m3(448f));
        assertEquals(0x7E, e4m3(464f)); // midpoint to a step the format lacks: saturates
        assertEquals(0x7E, e4m3(500f));
        assertEquals(0xFE, e4m3(-1e9f));
        assertEquals(0x7E, e4m3(Float.POSITIVE_INFINITY));
        assertEquals(0xFE, e4m3(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F, e4m3(Float.NaN));
        assertEquals(0x00, e4m3(0x1p-10f)); // half the smallest subnormal: tie to even (0)
        assertEquals(0x01, e4m3(0x1.01p-10f)); // just above that tie
        assertEquals(0x02, e4m3(0x3p-10f)); // 1.5 steps: tie to even (2)
        assertEquals(0x08, e4m3(0xFp-10f)); // 7.5 subnormal steps: tie to even, the smallest normal
        assertEquals(0x38, e4m3(1.0625f)); // tie between 0x38 and 0x39
        assertEquals(0x3A, e4m3(1.1875f)); // tie between 0x39 and 0x3A
        assertEquals(0x80, e4m3(-0f));
        assertEquals(0x80, e4m3(-1e-30f));
    }

    @Test
    void e4m3EveryNonNanPatternRoundTrips() {
        for (int b = 0; b < 256; b++) {
            float v = Numerics.e4m3ToFloat((byte) b);
            if (!Float.isNaN(v)) {
                assertEquals(b, e4m3(v), "0x" + Integer.toHexString(b));
            }
        }
    }

    /** Compares against a brute-force nearest-value search over all 127 finite magnitudes, ties to even code. */
    @Test
    void e4m3EncodingMatchesBruteForceOracle() {
        Random random = new Random(42);
        for (int i = 0; i < 50_000; i++) {
            float v = switch (i % 3) {
                case 0 -> (random.nextFloat() * 2 - 1) * 500f;
                case 1 -> (random.nextFloat() * 2 - 1) * 0x1p-5f;
                default -> Numerics.e4m3ToFloat((byte) random.nextInt(256)) // exact midpoints between neighbours
                        + (float) Math.scalb(1.0, -10 + random.nextInt(12)) * (random.nextBoolean() ? 1 : 0);
            };
            if (Float.isNaN(v)) {
                continue;
            }
            assertEquals(oracle(v), e4m3(v), () -> "value " + v + " (" + Float.toHexString(v) + ")");
        }
    }

    private static int oracle(float v) {
        int sign = Float.floatToRawIntBits(v) < 0 ? 0x80 : 0;
        double a = Math.abs((double) v);
        if (a >= 448) {
            return sign | 0x7E;
        }
        int best = 0;
        double bestDistance = Double.MAX_VALUE;
        for (int code = 0; code <= 0x7E; code++) {
            double distance = Math.abs(Numerics.e4m3ToFloat((byte) code) - a);
            if (distance < bestDistance || (distance == bestDistance && (code & 1) == 0)) {
                best = code;
                bestDistance = distance;
            }
        }
        return sign | best;
    }
}
