package dev.tinyrt.backend.cpu;

import dev.tinyrt.io.Numerics;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void widenedHalfValuesAreExactForEveryBitPattern() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(65536 * 2);
            for (int i = 0; i < 65536; i++) {
                all.setAtIndex(I16, i, (short) i);
            }
            float[] f16 = new float[65536];
            float[] bf16 = new float[65536];
            VectorMath.widenF16(all, 0, f16, 0, 65536);
            VectorMath.widenBF16(all, 0, bf16, 0, 65536);
            for (int i = 0; i < 65536; i++) {
                boolean finiteHalf = (i & 0x7c00) != 0x7c00;
                if (finiteHalf) {
                    assertEquals(Float.float16ToFloat((short) i), f16[i], "f16 bits " + Integer.toHexString(i));
                }
                assertEquals(Float.floatToRawIntBits(Numerics.bf16ToFloat((short) i)), Float.floatToRawIntBits(bf16[i]),
                        "bf16 bits " + Integer.toHexString(i));
            }
        }
    }

    /** The in-register widening of the fused decode dots, against the JDK's conversion, for every finite half. */
    @Test
    void registerWideningIsExactForEveryBitPattern() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(65536 * 2);
            for (int i = 0; i < 65536; i++) {
                all.setAtIndex(I16, i, (short) i);
            }
            float[] f16 = new float[VectorMath.LANES];
            float[] bf16 = new float[VectorMath.LANES];
            for (int base = 0; base < 65536; base += VectorMath.LANES) {
                VectorMath.f16(all, 2L * base).intoArray(f16, 0);
                VectorMath.bf16(all, 2L * base).intoArray(bf16, 0);
                for (int l = 0; l < VectorMath.LANES; l++) {
                    int i = base + l;
                    if ((i & 0x7c00) != 0x7c00) {
                        assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) i)),
                                Float.floatToRawIntBits(f16[l]), "f16 bits " + Integer.toHexString(i));
                    }
                    assertEquals(Float.floatToRawIntBits(Numerics.bf16ToFloat((short) i)),
                            Float.floatToRawIntBits(bf16[l]), "bf16 bits " + Integer.toHexString(i));
                }
            }
        }
    }

    /** The accumulation scheme spelled out in scalar code: one accumulator per lane, lanes left to right, tail. */
    @Test
    void dotFollowsTheDocumentedAccumulationOrder() {
        Random r = new Random(4);
        int lanes = VectorMath.LANES;
        for (int n : new int[]{1, lanes - 1, lanes, 3 * lanes + 5, 1000}) {
            float[] a = new float[n];
            float[] b = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) r.nextGaussian();
                b[i] = (float) r.nextGaussian();
            }
            float[] acc = new float[lanes];
            int bound = n - n % lanes;
            for (int i = 0; i < bound; i++) {
                acc[i % lanes] = Math.fma(a[i], b[i], acc[i % lanes]);
            }
            float expected = 0;
            for (float v : acc) {
                expected += v;
            }
            for (int i = bound; i < n; i++) {
                expected += a[i] * b[i];
            }
            assertEquals(expected, VectorMath.dot(a, 0, b, 0, n, new float[lanes]), "n=" + n);
        }
    }

    @Test
    void vectorExpIsWithinTwoUlpOfMathExp() {
        float[] lanes = new float[VectorMath.LANES];
        float[] in = new float[VectorMath.LANES];
        Random r = new Random(5);
        for (int i = 0; i < 200_000; i++) {
            for (int l = 0; l < lanes.length; l++) {
                in[l] = i < 100 ? -87f + 175f * (i * lanes.length + l) / (100f * lanes.length) : (float) (r.nextDouble() * 175 - 87);
            }
            VectorMath.exp(jdk.incubator.vector.FloatVector.fromArray(VectorMath.F, in, 0)).intoArray(lanes, 0);
            for (int l = 0; l < lanes.length; l++) {
                float expected = (float) Math.exp(in[l]);
                assertTrue(Math.abs(lanes[l] - expected) <= 2 * Math.ulp(expected), "exp(" + in[l] + ") = " + lanes[l]
                        + ", expected " + expected);
            }
        }
        // clamped, never inf or NaN: silu stays finite for any gate
        in[0] = -1000f;
        in[1] = 1000f;
        VectorMath.exp(jdk.incubator.vector.FloatVector.fromArray(VectorMath.F, in, 0)).intoArray(lanes, 0);
        assertTrue(lanes[0] >= 0 && lanes[0] < 2e-38f, "exp(-1000) = " + lanes[0]);
        assertTrue(lanes[1] > 1e38f && Float.isFinite(lanes[1]), "exp(1000) = " + lanes[1]);
    }

    @Test
    void swigluMatchesItsDefinition() {
        Random r = new Random(6);
        int n = 3 * VectorMath.LANES + 5;  // masked tail
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (r.nextGaussian() * 4);
            up[i] = (float) r.nextGaussian();
        }
        gate[0] = -200f;
        gate[1] = 200f;
        float[] out = new float[n + 1];
        out[n] = 42f;
        VectorMath.swiglu(gate, 0, up, 0, out, 0, n);
        for (int i = 0; i < n; i++) {
            double silu = gate[i] / (1 + Math.exp(-gate[i]));
            assertEquals(silu * up[i], out[i], 1e-6 * Math.abs(silu * up[i]) + 1e-30, "element " + i);
        }
        assertEquals(42f, out[n], "writes stop at n");
    }

    @Test
    void fusedDotEqualsWidenThenDotBitForBit() {
        Random r = new Random(1);
        for (int n : new int[]{1, 7, 16, 48, 100, 2048}) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment h = arena.allocate(2L * n);
                MemorySegment f = arena.allocate(4L * n);
                float[] x = new float[n];
                for (int i = 0; i < n; i++) {
                    h.setAtIndex(I16, i, Float.floatToFloat16((float) r.nextGaussian()));
                    f.setAtIndex(F32, i, (float) r.nextGaussian());
                    x[i] = (float) r.nextGaussian();
                }
                float[] row = new float[n];
                float[] tmp = new float[VectorMath.LANES];
                DenseFormat.F16.widen(h, 0, row, 0, n);
                assertEquals(VectorMath.dot(row, 0, x, 0, n, tmp), DenseFormat.F16.dot(x, 0, h, 0, n, tmp), "f16 n=" + n);
                DenseFormat.BF16.widen(h, 0, row, 0, n);
                assertEquals(VectorMath.dot(row, 0, x, 0, n, tmp), DenseFormat.BF16.dot(x, 0, h, 0, n, tmp), "bf16 n=" + n);
                DenseFormat.F32.widen(f, 0, row, 0, n);
                assertEquals(VectorMath.dot(row, 0, x, 0, n, tmp), DenseFormat.F32.dot(x, 0, f, 0, n, tmp), "f32 n=" + n);
            }
        }
    }
}
