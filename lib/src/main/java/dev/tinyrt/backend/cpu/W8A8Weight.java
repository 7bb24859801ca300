package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.I;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;
import static dev.tinyrt.backend.cpu.VectorMath.LE;

/**
 * W8A8 (SmoothQuant): int8 weights {@code [rows, cols]} with one scale per row; the activation row is pre-scaled and
 * quantized to int8 per token ({@link InputFormat#int8PerToken}), the dot product of the two integer rows is
 * computed, then multiplied by (token scale × row scale) once per output.
 *
 * <p>Decode multiplies the bytes as integers: lane L of an int32 accumulator sums the products of the columns
 * k ≡ L (mod LANES), exactly. Prefill widens the weights to floats holding the same integers and runs the fp32
 * tiles, whose lane sums are the same integers as long as no partial sum exceeds 2^24, i.e. for at most 1032
 * products per lane (|q_w · q_x| ≤ 128 · 127); the lanes are then summed in fp32 by both. Up to 16,512 columns
 * at 16 lanes the two paths therefore give the same bits; wider rows decode in fp32 as well.
 */
final class W8A8Weight implements CpuWeight {
    /** Products per lane whose partial sums stay exact in fp32: 1032 · 128 · 127 < 2^24. */
    static final int EXACT_TERMS_PER_LANE = (1 << 24) / (128 * 127);

    private final int rows;
    private final int cols;
    private final MemorySegment q;
    private final float[] scales;
    private final InputFormat input;
    private final int bound;
    private final boolean integerDecode;

    W8A8Weight(int rows, int cols, MemorySegment q, float[] scales, float[] preScale) {
        this.rows = rows;
        this.cols = cols;
        this.q = q;
        this.scales = scales.clone();
        this.input = InputFormat.int8PerToken(preScale);
        this.bound = F.loopBound(cols);
        this.integerDecode = bound / LANES <= EXACT_TERMS_PER_LANE;
    }

    MemorySegment bytes() {
        return q;
    }

    @Override
    public InputFormat input() {
        return input;
    }

    /** The raw dot of the int8 row (as floats) with fp32 x, by the scheme of {@link VectorMath}. */
    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        long base = (long) row * cols;
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
            FloatVector w = (FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, base + k, LE).convertShape(VectorOperators.B2F, F, 0);
            acc = w.fma(FloatVector.fromArray(F, x, xOff + k), acc);
        }
        return tail(VectorMath.sum(acc, tmp), base, x, xOff);
    }

    /** Decode over quantized activations: integer products, exact int32 lane sums. */
    @Override
    public void dotRows(int from, int to, Activations x, int token, float[] out, int oOff, float[] tmp) {
        if (!integerDecode || x.int8() == null) {
            CpuWeight.super.dotRows(from, to, x, token, out, oOff, tmp);
            return;
        }
        int xOff = token * cols;
        byte[] xq = x.int8();
        for (int r = from; r < to; r++) {
            long base = (long) r * cols;
            IntVector acc = IntVector.zero(I);
            for (int k = 0; k < bound; k += LANES) {
                IntVector w = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, q, base + k, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector a = (IntVector) ByteVector.fromArray(QuantVectors.B, xq, xOff + k)
                        .convertShape(VectorOperators.B2I, I, 0);
                acc = w.mul(a).add(acc);
            }
            // lane sums below 2^24 convert exactly; the scheme then sums the lanes in fp32
                FloatVector lanes = (FloatVector) acc.convertShape(VectorOperators.I2F, F, 0);
                out[oOff + r - from] = tail(VectorMath.sum(lanes, tmp), base, x.values(), xOff);
        }
    }

    private float tail(float sum, long base, float[] x, int xOff) {
        for (int k = bound; k < cols; k++) {
            sum += (float) q.get(ValueLayout.JAVA_BYTE, base + k) * x[xOff + k];
        }
        return sum;
    }

    @Override
    public void scaleOutputs(Activations x, int token, int from, int to, float[] out, int oOff) {
        float tokenScale = x.scales()[token];
        for (int r = from; r < to; r++) {
            out[oOff + r - from] *= tokenScale * scales[r];
        }
    }

    /** The integer weights as floats (no scale: it is applied to the outputs). */
    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            long base = (long) r * cols;
            int d = dOff + (r - from) * cols;
            for (int k = 0; k < bound; k += LANES) {
                ((FloatVector) ByteVector.fromMemorySegment(QuantVectors.B, q, base + k, LE).convertShape(VectorOperators.B2F, F, 0)).intoArray(dst, d + k);
            }
            for (int k = bound; k < cols; k++) {
                dst[d + k] = q.get(ValueLayout.JAVA_BYTE, base + k);
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
        return (q.isMapped() ? 0 : q.byteSize()) + 4L * scales.length;
    }

    @Override
    public String format() {
        return "W8A8";
    }
}
