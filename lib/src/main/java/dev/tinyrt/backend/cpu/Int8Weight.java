package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;
import static dev.tinyrt.backend.cpu.VectorMath.LE;

/**
 * W8A16: int8 values {@code [rows, cols]} with one scale per row, w = q * scale[row], widened and scaled in
 * registers. Activations stay fp32, times the pre-scale if any. The bytes are kept four rows interleaved
 * ({@link InterleavedRows}) so decode runs four rows' FMA chains side by side from one stream.
 */
final class Int8Weight implements CpuWeight {
    /** Bytes from one chunk of a row to its next. */
    private static final int STEP = InterleavedRows.ROWS * LANES;

    private final int rows;
    private final int cols;
    private final InterleavedRows layout;
    private final MemorySegment q;
    private final float[] scales;
    private final InputFormat input;
    private final int bound;

    /** @param rowMajor int8 values {@code [rows, cols]}, copied */
    Int8Weight(int rows, int cols, MemorySegment rowMajor, float[] scales, float[] preScale) {
        this.rows = rows;
        this.cols = cols;
        this.layout = new InterleavedRows(rowMajor, rows, cols, LANES);
        this.q = layout.data();
        this.scales = scales.clone();
        this.input = InputFormat.preScaled(preScale);
        this.bound = F.loopBound(cols);
    }

    MemorySegment bytes() {
        return q;
    }

    @Override
    public InputFormat input() {
        return input;
    }

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        float s = scales[row];
        FloatVector acc = FloatVector.zero(F);
        long o = layout.chunkOffset(row, 0);
        for (int k = 0; k < bound; k += LANES, o += STEP) {
            FloatVector w = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            acc = w.mul(s).fma(FloatVector.fromArray(F, x, xOff + k), acc);
        }
        return tail(VectorMath.sum(acc, tmp), row, s, x, xOff);
    }

    /** Groups of four rows through the four-row kernel, the rows around them one by one. */
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

    /** Rows r .. r+3 (r a multiple of four), each by the scheme exactly as {@link #dot}. */
    private void fourRows(int r, float[] x, int xOff, float[] out, int o0, float[] tmp) {
        float s0 = scales[r];
        float s1 = scales[r + 1];
        float s2 = scales[r + 2];
        float s3 = scales[r + 3];
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long o = layout.chunkOffset(r, 0);
        for (int k = 0; k < bound; k += LANES, o += STEP) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + k);
            FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o + LANES, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            FloatVector w2 = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o + 2 * LANES, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            FloatVector w3 = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o + 3 * LANES, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            a0 = w0.mul(s0).fma(v, a0);
            a1 = w1.mul(s1).fma(v, a1);
            a2 = w2.mul(s2).fma(v, a2);
            a3 = w3.mul(s3).fma(v, a3);
        }
        out[o0] = tail(VectorMath.sum(a0, tmp), r, s0, x, xOff);
        out[o0 + 1] = tail(VectorMath.sum(a1, tmp), r + 1, s1, x, xOff);
        out[o0 + 2] = tail(VectorMath.sum(a2, tmp), r + 2, s2, x, xOff);
        out[o0 + 3] = tail(VectorMath.sum(a3, tmp), r + 3, s3, x, xOff);
    }

    /** The scheme's scalar tail of a row. */
    private float tail(float sum, int row, float scale, float[] x, int xOff) {
        long t = layout.tailOffset(row) - bound;
        for (int k = bound; k < cols; k++) {
            sum += q.get(ValueLayout.JAVA_BYTE, t + k) * scale * x[xOff + k];
        }
        return sum;
    }

    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            int d = dOff + (r - from) * cols;
            float s = scales[r];
            long o = layout.chunkOffset(r, 0);
            for (int k = 0; k < bound; k += LANES, o += STEP) {
                FloatVector w = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, o, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                w.mul(s).intoArray(dst, d + k);
            }
            long t = layout.tailOffset(r) - bound;
            for (int k = bound; k < cols; k++) {
                dst[d + k] = q.get(ValueLayout.JAVA_BYTE, t + k) * s;
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
        return q.byteSize() + 4L * scales.length;
    }

    @Override
    public String format() {
        return "W8A16";
    }
}
