package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector API kernels for fp32 arithmetic over fp32, fp16 and bf16 operands. Half-precision lanes are widened in
 * registers (never expanded to a fp32 copy of the weight in memory).
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts with as many lanes as {@link #F}, so one load widens to exactly one float vector. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int LANES = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private VectorMath() {
    }

    /**
     * Sums the lanes in a fixed order. reduceLanes may associate differently once C2 intrinsifies it, which
     * would make the same dot product differ by an ulp between early and later calls (or between decode and
     * prefill); results here are bit-for-bit repeatable.
     */
    static float sum(FloatVector v) {
        float[] lanes = new float[LANES];
        v.intoArray(lanes, 0);
        float s = 0;
        for (float x : lanes) {
            s += x;
        }
        return s;
    }

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        int bound2 = n - 2 * LANES + 1;
        for (; i < bound2; i += 2 * LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + LANES).fma(FloatVector.fromArray(F, b, bOff + i + LANES), acc1);
        }
        for (; i < F.loopBound(n); i += LANES) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** Dot of {@code x[xOff..xOff+n)} with n fp32 values at byte offset {@code wOff} of {@code w}. */
    static float dotF32(float[] x, int xOff, MemorySegment w, long wOff, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        int bound2 = n - 2 * LANES + 1;
        for (; i < bound2; i += 2 * LANES) {
            acc0 = FloatVector.fromMemorySegment(F, w, wOff + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F, w, wOff + 4L * (i + LANES), LE)
                    .fma(FloatVector.fromArray(F, x, xOff + i + LANES), acc1);
        }
        for (; i < F.loopBound(n); i += LANES) {
            acc0 = FloatVector.fromMemorySegment(F, w, wOff + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += x[xOff + i] * w.get(F32, wOff + 4L * i);
        }
        return sum;
    }

    /** Dot with n fp16 values; each 16-lane load is widened to fp32 in registers. */
    static float dotF16(float[] x, int xOff, MemorySegment w, long wOff, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        int bound2 = n - 2 * LANES + 1;
        for (; i < bound2; i += 2 * LANES) {
            acc0 = f16(w, wOff + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            acc1 = f16(w, wOff + 2L * (i + LANES)).fma(FloatVector.fromArray(F, x, xOff + i + LANES), acc1);
        }
        for (; i < F.loopBound(n); i += LANES) {
            acc0 = f16(w, wOff + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += x[xOff + i] * Float.float16ToFloat(w.get(I16, wOff + 2L * i));
        }
        return sum;
    }

    static float dotBF16(float[] x, int xOff, MemorySegment w, long wOff, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        int bound2 = n - 2 * LANES + 1;
        for (; i < bound2; i += 2 * LANES) {
            acc0 = bf16(w, wOff + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
            acc1 = bf16(w, wOff + 2L * (i + LANES)).fma(FloatVector.fromArray(F, x, xOff + i + LANES), acc1);
        }
        for (; i < F.loopBound(n); i += LANES) {
            acc0 = bf16(w, wOff + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) {
            sum += x[xOff + i] * bf16ToFloat(w.get(I16, wOff + 2L * i));
        }
        return sum;
    }

    /** Widens {@link #LANES} fp16 values to fp32. Exact for zeros, subnormals and normals (weights hold no inf/NaN). */
    static FloatVector f16(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, off, LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        // Shifting exponent+mantissa into fp32 position and scaling by 2^112 rebiases the exponent (15 -> 127)
        // and turns fp16 subnormals into the right fp32 normals in one multiply.
        FloatVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        return magnitude.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    static FloatVector bf16(MemorySegment w, long off) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, w, off, LE).convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Writes n fp16 values as fp32 into {@code dst}. */
    static void widenF16(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        int i = 0;
        for (; i < F.loopBound(n); i += LANES) {
            f16(w, wOff + 2L * i).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            dst[dOff + i] = Float.float16ToFloat(w.get(I16, wOff + 2L * i));
        }
    }

    static void widenBF16(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        int i = 0;
        for (; i < F.loopBound(n); i += LANES) {
            bf16(w, wOff + 2L * i).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            dst[dOff + i] = bf16ToFloat(w.get(I16, wOff + 2L * i));
        }
    }

    static void copyF32(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        MemorySegment.copy(w, F32, wOff, dst, dOff, n);
    }

    /** y[i] += a * x[i]. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i < F.loopBound(n); i += LANES) {
            FloatVector.fromArray(F, x, xOff + i).fma(va, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    static float sumOfSquares(float[] x, int off, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i < F.loopBound(n); i += LANES) {
            FloatVector v = FloatVector.fromArray(F, x, off + i);
            acc = v.fma(v, acc);
        }
        float sum = sum(acc);
        for (; i < n; i++) {
            sum += x[off + i] * x[off + i];
        }
        return sum;
    }
}
