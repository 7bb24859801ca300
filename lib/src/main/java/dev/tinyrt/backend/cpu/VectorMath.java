package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector API kernels for fp32 arithmetic over fp32, fp16 and bf16 operands.
 *
 * <p>Every matmul output (decode's fused dots, prefill's register tiles, any weight format) follows one
 * accumulation scheme, so it never depends on how many tokens share its step, which tile it lands in or how many
 * threads run:
 * <ol>
 *   <li>one accumulator vector, {@code acc = fma(w[k..k+LANES), x[k..k+LANES), acc)} for k = 0, LANES, ... up to
 *       {@code loopBound(n)};</li>
 *   <li>its lanes summed left to right ({@link #laneSum});</li>
 *   <li>the remaining {@code n % LANES} products added one by one, in order ({@code s += w[k] * x[k]}).</li>
 * </ol>
 * A weight format keeps the scheme by widening its values exactly to fp32 before they meet {@code x}.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts with as many lanes as {@link #F}, so one load widens to exactly one float vector. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int LANES = F.length();
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private VectorMath() {
    }

    /**
     * Sums {@code LANES} floats left to right. reduceLanes may associate differently once C2 intrinsifies it,
     * which would make the same dot product differ by an ulp between early and later calls (or between decode and
     * prefill); this order is bit-for-bit repeatable.
     */
    static float laneSum(float[] lanes, int off) {
        float s = 0;
        for (int i = 0; i < LANES; i++) {
            s += lanes[off + i];
        }
        return s;
    }

    /** {@link #laneSum} of a vector; {@code tmp} holds at least {@code LANES} floats. */
    static float sum(FloatVector v, float[] tmp) {
        v.intoArray(tmp, 0);
        return laneSum(tmp, 0);
    }

    /** The reference dot product of two fp32 arrays (the scheme in the class comment). */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n, float[] tmp) {
        FloatVector acc = FloatVector.zero(F);
        int bound = F.loopBound(n);
        for (int i = 0; i < bound; i += LANES) {
            acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
        }
        float sum = sum(acc, tmp);
        for (int i = bound; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /*
     * The vector part of the scheme over weights in memory: acc[aOff, aOff + LANES) += w[i] * x[xOff + i] lane-wise
     * for i < n (a multiple of LANES), in order. The accumulator lives in an array between calls so that a row can
     * be fed in pieces (ColumnBlockedWeight) with the same bits as in one go.
     */

    static void accumulateF32(float[] acc, int aOff, float[] x, int xOff, MemorySegment w, long wOff, int n) {
        FloatVector a = FloatVector.fromArray(F, acc, aOff);
        for (int i = 0; i < n; i += LANES) {
            a = FloatVector.fromMemorySegment(F, w, wOff + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), a);
        }
        a.intoArray(acc, aOff);
    }

    /** fp16 weights are widened in registers, so every weight byte is read once. */
    static void accumulateF16(float[] acc, int aOff, float[] x, int xOff, MemorySegment w, long wOff, int n) {
        FloatVector a = FloatVector.fromArray(F, acc, aOff);
        for (int i = 0; i < n; i += LANES) {
            a = f16(w, wOff + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), a);
        }
        a.intoArray(acc, aOff);
    }

    static void accumulateBF16(float[] acc, int aOff, float[] x, int xOff, MemorySegment w, long wOff, int n) {
        FloatVector a = FloatVector.fromArray(F, acc, aOff);
        for (int i = 0; i < n; i += LANES) {
            a = bf16(w, wOff + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), a);
        }
        a.intoArray(acc, aOff);
    }

    /**
     * Widens {@link #LANES} fp16 values to fp32, exactly for zeros, subnormals and normals (weights hold no
     * inf/NaN). Four vector ops: the sign-extended half shifted left by 13 has the sign at bit 31 (copies at bits
     * 28-30, masked off) and exponent+mantissa in fp32 position; scaling by 2^112 rebiases the exponent (15 ->
     * 127), keeps the sign, and turns fp16 subnormals into the right fp32 normals in one exact multiply.
     */
    static FloatVector f16(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 13).and(0x8fffe000).reinterpretAsFloats().mul(0x1p112f);
    }

    static FloatVector bf16(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /**
     * Writes n fp16 values as fp32 into {@code dst}. A plain loop: C2 vectorizes Float.float16ToFloat into
     * vcvtph2ps, faster than any Vector API sequence for writing rows out.
     */
    static void widenF16(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dOff + i] = Float.float16ToFloat(w.get(I16, wOff + 2L * i));
        }
    }

    static void widenBF16(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dOff + i] = Float.intBitsToFloat((w.get(I16, wOff + 2L * i) & 0xffff) << 16);
        }
    }

    static void copyF32(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        MemorySegment.copy(w, F32, wOff, dst, dOff, n);
    }

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split so that n * LN2_HI is exact for the |n| <= 127 used here (Cephes). */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    /**
     * e^x per lane, within 2 ulp of Math.exp for x in [-87, 88] (Cephes expf), clamped outside (e^-87 ~ 1.6e-38,
     * e^88 ~ 1.7e38). Built from IEEE add/mul/fma and integer ops only, so interpreted, C1 and C2 code give the
     * same bits; VectorOperators.EXP calls SVML once compiled and would not.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(-87f).min(88f);
        FloatVector t = c.mul(LOG2E).add(ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(splat(-LN2_HI), c).add(n.mul(-LN2_LO));
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f)
                .fma(r, splat(8.3334519073e-3f))
                .fma(r, splat(4.1665795894e-2f))
                .fma(r, splat(1.6666665459e-1f))
                .fma(r, splat(5.0000001201e-1f));
        FloatVector y = p.fma(r.mul(r), r).add(1f);  // 1 + r + r^2 * p(r)
        // 2^n from t's bits: t = 1.5 * 2^23 + n, so its low mantissa bits hold n; add the exponent bias and shift
        IntVector scale = t.reinterpretAsInts().sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(scale.reinterpretAsFloats());
    }

    private static FloatVector splat(float c) {
        return FloatVector.broadcast(F, c);
    }

    /** out[i] = silu(gate[i]) * up[i] = gate / (1 + e^-gate) * up, for i in [0, n). */
    static void swiglu(float[] gate, int gOff, float[] up, int uOff, float[] out, int oOff, int n) {
        for (int i = 0; i < n; i += LANES) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i, m);
            FloatVector u = FloatVector.fromArray(F, up, uOff + i, m);
            g.div(exp(g.neg()).add(1f)).mul(u).intoArray(out, oOff + i, m);
        }
    }

    static float sumOfSquares(float[] x, int off, int n, float[] tmp) {
        return dot(x, off, x, off, n, tmp);
    }
}
