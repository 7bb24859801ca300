package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * W8A16: int8 values {@code [rows, cols]} (a zero-copy view where the checkpoint stores them row-major), one scale
 * per row: w = q * scale[row], widened and scaled in registers. Activations stay fp32, times the pre-scale if any.
 */
final class Int8Weight implements CpuWeight {
    private final int rows;
    private final int cols;
    private final MemorySegment q;
    private final float[] scales;
    private final InputFormat input;
    private final int bound;

    Int8Weight(int rows, int cols, MemorySegment q, float[] scales, float[] preScale) {
        this.rows = rows;
        this.cols = cols;
        this.q = q;
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
        long base = (long) row * cols;
        float s = scales[row];
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
            acc = QuantVectors.int8(q, base + k).mul(s).fma(FloatVector.fromArray(F, x, xOff + k), acc);
        }
        float sum = VectorMath.sum(acc, tmp);
        for (int k = bound; k < cols; k++) {
            sum += value(base + k, s) * x[xOff + k];
        }
        return sum;
    }

    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            long base = (long) r * cols;
            int d = dOff + (r - from) * cols;
            float s = scales[r];
            for (int k = 0; k < bound; k += LANES) {
                QuantVectors.int8(q, base + k).mul(s).intoArray(dst, d + k);
            }
            for (int k = bound; k < cols; k++) {
                dst[d + k] = value(base + k, s);
            }
        }
    }

    private float value(long index, float scale) {
        return q.get(ValueLayout.JAVA_BYTE, index) * scale;
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
        return (q.isMapped() ? 0 : q.byteSize()) + 4L * scales.length;
    }

    @Override
    public String format() {
        return "W8A16";
    }
}
