package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * FP8: e4m3 weights {@code [rows, cols]} with one weight scale; activations are quantized to e4m3 with the static
 * activation scale ({@link InputFormat#e4m3}). As in an FP8 GEMM, the e4m3 values are multiplied (exactly, in fp32),
 * accumulated in fp32 by the scheme of {@link VectorMath}, and each output is scaled by
 * (activation scale × weight scale) once.
 */
final class Fp8Weight implements CpuWeight {
    private final int rows;
    private final int cols;
    private final MemorySegment q;
    private final float weightScale;
    private final InputFormat input;
    private final int bound;

    Fp8Weight(int rows, int cols, MemorySegment q, float weightScale, float activationScale) {
        this.rows = rows;
        this.cols = cols;
        this.q = q;
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

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        long base = (long) row * cols;
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
            acc = QuantVectors.e4m3(q, base + k).fma(FloatVector.fromArray(F, x, xOff + k), acc);
        }
        float sum = VectorMath.sum(acc, tmp);
        for (int k = bound; k < cols; k++) {
            sum += value(base + k) * x[xOff + k];
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
            long base = (long) r * cols;
            int d = dOff + (r - from) * cols;
            for (int k = 0; k < cols; k++) {
                dst[d + k] = value(base + k);
            }
        }
    }

    private float value(long index) {
        return QuantVectors.e4m3Table(q.get(ValueLayout.JAVA_BYTE, index));
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
        return q.isMapped() ? 0 : q.byteSize();
    }

    @Override
    public String format() {
        return "FP8";
    }
}
