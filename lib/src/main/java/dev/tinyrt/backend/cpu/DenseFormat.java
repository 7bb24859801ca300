package dev.tinyrt.backend.cpu;

import dev.tinyrt.io.DType;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.I16;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/** Dense F32, F16 and BF16 values as the kernels read them: fused dot pieces, exact fp32 widening. */
enum DenseFormat {
    F32(4), F16(2), BF16(2);

    final int bytes;

    DenseFormat(int bytes) {
        this.bytes = bytes;
    }

    static DenseFormat of(DType dtype) {
        return switch (dtype) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            default -> throw new IllegalArgumentException("dense CPU weights are F32, F16 or BF16, not " + dtype);
        };
    }

    /** The dot of n values at {@code w[wOff..]} with {@code x[xOff..]}, by the scheme of {@link VectorMath}. */
    float dot(float[] x, int xOff, MemorySegment w, long wOff, int n, float[] tmp) {
        Arrays.fill(tmp, 0, LANES, 0f);
        int bound = F.loopBound(n);
        accumulate(tmp, 0, x, xOff, w, wOff, bound);
        return tail(VectorMath.laneSum(tmp, 0), x, xOff, w, wOff, bound, n);
    }

    /** The scheme's vector part over n values (a multiple of LANES), into {@code acc[aOff, aOff + LANES)}. */
    void accumulate(float[] acc, int aOff, float[] x, int xOff, MemorySegment w, long wOff, int n) {
        switch (this) {
            case F32 -> VectorMath.accumulateF32(acc, aOff, x, xOff, w, wOff, n);
            case F16 -> VectorMath.accumulateF16(acc, aOff, x, xOff, w, wOff, n);
            case BF16 -> VectorMath.accumulateBF16(acc, aOff, x, xOff, w, wOff, n);
        }
    }

    /** The scheme's tail: {@code sum} plus the products of elements [from, to), one by one. */
    float tail(float sum, float[] x, int xOff, MemorySegment w, long wOff, int from, int to) {
        for (int i = from; i < to; i++) {
            sum += value(w, wOff, i) * x[xOff + i];
        }
        return sum;
    }

    private float value(MemorySegment w, long wOff, int i) {
        return switch (this) {
            case F32 -> w.get(VectorMath.F32, wOff + 4L * i);
            case F16 -> Float.float16ToFloat(w.get(I16, wOff + 2L * i));
            case BF16 -> VectorMath.bf16ToFloat(w.get(I16, wOff + 2L * i));
        };
    }

    /** Writes n values at {@code w[wOff..]} as fp32 into {@code dst[dOff..]}. */
    void widen(MemorySegment w, long wOff, float[] dst, int dOff, int n) {
        switch (this) {
            case F32 -> VectorMath.copyF32(w, wOff, dst, dOff, n);
            case F16 -> VectorMath.widenF16(w, wOff, dst, dOff, n);
            case BF16 -> VectorMath.widenBF16(w, wOff, dst, dOff, n);
        }
    }
}
