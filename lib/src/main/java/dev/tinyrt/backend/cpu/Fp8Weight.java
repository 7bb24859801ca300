package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.I;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;
import static dev.tinyrt.backend.cpu.VectorMath.LE;

/**
 * FP8: e4m3 weights {@code [rows, cols]} with one weight scale; activations are quantized to e4m3 with the static
 * activation scale ({@link InputFormat#e4m3}). As in an FP8 GEMM, the e4m3 values are multiplied (exactly, in fp32),
 * accumulated in fp32 by the scheme of {@link VectorMath}, and each output is scaled by
 * (activation scale × weight scale) once. Bytes are kept four rows interleaved, as {@link Int8Weight}'s.
 */
final class Fp8Weight implements CpuWeight {
    private static final int STEP = InterleavedRows.ROWS * LANES;

    private final int rows;
    private final int cols;
    private final InterleavedRows layout;
    private final MemorySegment q;
    private final float weightScale;
    private final InputFormat input;
    private final int bound;

    /** @param rowMajor e4m3 codes {@code [rows, cols]}, copied */
    Fp8Weight(int rows, int cols, MemorySegment rowMajor, float weightScale, float activationScale) {
        this.rows = rows;
        this.cols = cols;
        this.layout = new InterleavedRows(rowMajor, rows, cols, LANES);
        this.q = layout.data();
        this.weightScale = weightScale;
        this.input = InputFormat.e4m3(activationScale);
        this.bound = F.loopBound(cols);
    }

    MemorySegment bytes() {
        return q;
    }

    @Override
    public InputFormat input() {
        return input;
    }

    /*
     * e4m3 -> fp32 per lane, as QuantVectors.e4m3(byte): the sign-extended byte shifted left by 20, masked to sign,
     * exponent and mantissa, times 2^120.
     */

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        FloatVector acc = FloatVector.zero(F);
        long o = layout.chunkOffset(row, 0);
        for (int k = 0; k < bound; k += LANES, o += STEP) {
            IntVector b = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            FloatVector w = b.lanewise(VectorOperators.LSHL, 20).and(QuantVectors.E4M3_MASK).reinterpretAsFloats()
                    .mul(QuantVectors.E4M3_REBIAS);
            acc = w.fma(FloatVector.fromArray(F, x, xOff + k), acc);
        }
        return tail(VectorMath.sum(acc, tmp), row, x, xOff);
    }

    @Override
    public void dotRows(int from, int to, float[] x, int xOff, float[] out, int oOff, float[] tmp) {
        int r = from;
        for (int firstGroup = InterleavedRows.firstGroup(from, to); r < firstGroup; r++) {
            out[oOff + r - from] = dot(r, x, xOff, tmp);
        }
        for (; r + InterleavedRows.ROWS <= to; r += InterleavedRows.ROWS) {
            fourRows(r, x, xOff, out, oOff + r - from, tmp);
        }
        for (; r < to; r++) {
            out[oOff + r - from] = dot(r, x, xOff, tmp);
        }
    }

    private void fourRows(int r, float[] x, int xOff, float[] out, int o0, float[] tmp) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long o = layout.chunkOffset(r, 0);
        for (int k = 0; k < bound; k += LANES, o += STEP) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + k);
            IntVector b0 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector b1 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o + LANES, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector b2 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o + 2 * LANES, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            IntVector b3 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o + 3 * LANES, LE)
                    .convertShape(VectorOperators.B2I, I, 0);
            a0 = b0.lanewise(VectorOperators.LSHL, 20).and(QuantVectors.E4M3_MASK).reinterpretAsFloats()
                    .mul(QuantVectors.E4M3_REBIAS).fma(v, a0);
            a1 = b1.lanewise(VectorOperators.LSHL, 20).and(QuantVectors.E4M3_MASK).reinterpretAsFloats()
                    .mul(QuantVectors.E4M3_REBIAS).fma(v, a1);
            a2 = b2.lanewise(VectorOperators.LSHL, 20).and(QuantVectors.E4M3_MASK).reinterpretAsFloats()
                    .mul(QuantVectors.E4M3_REBIAS).fma(v, a2);
            a3 = b3.lanewise(VectorOperators.LSHL, 20).and(QuantVectors.E4M3_MASK).reinterpretAsFloats()
                    .mul(QuantVectors.E4M3_REBIAS).fma(v, a3);
        }
        out[o0] = tail(VectorMath.sum(a0, tmp), r, x, xOff);
        out[o0 + 1] = tail(VectorMath.sum(a1, tmp), r + 1, x, xOff);
        out[o0 + 2] = tail(VectorMath.sum(a2, tmp), r + 2, x, xOff);
        out[o0 + 3] = tail(VectorMath.sum(a3, tmp), r + 3, x, xOff);
    }

    private float tail(float sum, int row, float[] x, int xOff) {
        long t = layout.tailOffset(row) - bound;
        for (int k = bound; k < cols; k++) {
            sum += QuantVectors.e4m3Table(q.get(ValueLayout.JAVA_BYTE, t + k)) * x[xOff + k];
        }
        return sum;
    }

    @Override
    public void scaleOutputs(Activations x, int token, int from, int to, float[] out, int oOff) {
        float scale = x.scales()[token] * weightScale;
        for (int i = oOff; i < oOff + to - from; i++) {
            out[i] *= scale;
        }
    }

    /** The e4m3 values (no scale: it is applied to the outputs). */
    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            int d = dOff + (r - from) * cols;
            long o = layout.chunkOffset(r, 0);
            for (int k = 0; k < bound; k += LANES, o += STEP) {
                for (int i = 0; i < LANES; i++) {
                    dst[d + k + i] = QuantVectors.e4m3Table(q.get(ValueLayout.JAVA_BYTE, o + i));
                }
            }
            long t = layout.tailOffset(r) - bound;
            for (int k = bound; k < cols; k++) {
                dst[d + k] = QuantVectors.e4m3Table(q.get(ValueLayout.JAVA_BYTE, t + k));
            }
        }
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long ownedBytes() {
        return q.byteSize();
    }

    @Override
    public String format() {
        return "FP8";
    }
}
