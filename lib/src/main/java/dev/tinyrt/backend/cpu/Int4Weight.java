package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.I;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;
import static dev.tinyrt.backend.cpu.VectorMath.LE;

/**
 * W4A16 and AWQ: signed 4-bit values with one scale per row and group of columns, w = q * scale[row, col / group],
 * dequantized in registers; activations stay fp32, times AWQ's pre-scale if any.
 *
 * <p>The canonical packing (low nibble = even column) would need a lane shuffle to bring the columns back in
 * order. So the values are repacked once, per block of 2·LANES columns: byte j of a block holds column j in its
 * low nibble and column LANES + j in its high nibble. One load of LANES bytes then widens, by two shifts, to the
 * two consecutive float vectors the accumulation scheme of {@link VectorMath} needs. Rows are then kept four
 * at a time interleaved ({@link InterleavedRows}) for the four-row decode kernel.
 */
final class Int4Weight implements CpuWeight {
    /** Columns per packed block: a group must not start inside one. */
    static final int BLOCK = 2 * LANES;
    /** Bytes from one block of a row to its next in the four-row interleaved layout. */
    private static final int STEP = InterleavedRows.ROWS * LANES;

    private final int rows;
    private final int cols;
    private final int groupSize;
    private final int groups;
    private final InterleavedRows layout;
    private final MemorySegment packed;
    private final float[] scales;
    private final InputFormat input;

    /**
     * @param canonical {@code [rows, cols / 2]} bytes, column 2j in the low nibble of byte j (as
     *                  {@link dev.tinyrt.backend.WeightData.Int4PerGroup})
     */
    Int4Weight(int rows, int cols, int groupSize, MemorySegment canonical, float[] scales, float[] preScale) {
        if (cols % BLOCK != 0 || groupSize % BLOCK != 0) {
            throw new UnsupportedOperationException("int4 weights on this CPU need a column count and group size "
                    + "divisible by " + BLOCK + " (got " + cols + " columns, groups of " + groupSize + ")");
        }
        this.rows = rows;
        this.cols = cols;
        this.groupSize = groupSize;
        this.groups = cols / groupSize;
        this.layout = new InterleavedRows(repack(rows, cols, canonical), rows, cols / 2, LANES);
        this.packed = layout.data();
        this.scales = scales.clone();
        this.input = InputFormat.preScaled(preScale);
    }

    /** The canonical nibble pairs regrouped into blocks (see the class comment), row-major. */
    static MemorySegment repack(int rows, int cols, MemorySegment canonical) {
        long rowBytes = cols / 2;
        byte[] src = new byte[(int) rowBytes];
        byte[] dst = new byte[(int) rowBytes];
        MemorySegment out = Arena.ofAuto().allocate(rows * rowBytes, 64);
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(canonical, ValueLayout.JAVA_BYTE, r * rowBytes, src, 0, src.length);
            for (int b = 0; b < cols; b += BLOCK) {
                for (int j = 0; j < LANES; j++) {
                    dst[b / 2 + j] = (byte) (nibble(src, b + j) | nibble(src, b + LANES + j) << 4);
                }
            }
            MemorySegment.copy(dst, 0, out, ValueLayout.JAVA_BYTE, r * rowBytes, dst.length);
        }
        return out;
    }

    private static int nibble(byte[] canonical, int col) {
        int b = canonical[col >> 1];
        return ((col & 1) == 0 ? b : b >> 4) & 0x0F;
    }

    @Override
    public InputFormat input() {
        return input;
    }

    /*
     * One block per step: LANES bytes widened to ints; signed low nibbles (b << 28) >> 28 are columns k .. k+LANES,
     * high nibbles b >> 4 the next LANES columns. Then scaled and multiplied in the order of the scheme.
     */

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        FloatVector acc = FloatVector.zero(F);
        long o = layout.chunkOffset(row, 0);
        for (int g = 0, k = 0; g < groups; g++) {
            float s = scales[row * groups + g];
            for (int end = k + groupSize; k < end; k += BLOCK, o += STEP) {
                IntVector b = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, packed, o, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector lo = ((FloatVector) b.lanewise(VectorOperators.LSHL, 28)
                        .lanewise(VectorOperators.ASHR, 28).convertShape(VectorOperators.I2F, F, 0)).mul(s);
                FloatVector hi = ((FloatVector) b.lanewise(VectorOperators.ASHR, 4)
                        .convertShape(VectorOperators.I2F, F, 0)).mul(s);
                acc = lo.fma(FloatVector.fromArray(F, x, xOff + k), acc);
                acc = hi.fma(FloatVector.fromArray(F, x, xOff + k + LANES), acc);
            }
        }
        return VectorMath.sum(acc, tmp);
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

    /** Rows r .. r+3 (r a multiple of four) side by side, each exactly as {@link #dot}. */
    private void fourRows(int r, float[] x, int xOff, float[] out, int o0, float[] tmp) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long o = layout.chunkOffset(r, 0);
        for (int g = 0, k = 0; g < groups; g++) {
            int sg = r * groups + g;
            float s0 = scales[sg];
            float s1 = scales[sg + groups];
            float s2 = scales[sg + 2 * groups];
            float s3 = scales[sg + 3 * groups];
            for (int end = k + groupSize; k < end; k += BLOCK, o += STEP) {
                FloatVector vLo = FloatVector.fromArray(F, x, xOff + k);
                FloatVector vHi = FloatVector.fromArray(F, x, xOff + k + LANES);
                IntVector b0 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, packed, o, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector b1 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, packed, o + LANES, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector b2 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, packed, o + 2 * LANES, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector b3 = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, packed, o + 3 * LANES, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                a0 = ((FloatVector) b0.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28)
                        .convertShape(VectorOperators.I2F, F, 0)).mul(s0).fma(vLo, a0);
                a1 = ((FloatVector) b1.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28)
                        .convertShape(VectorOperators.I2F, F, 0)).mul(s1).fma(vLo, a1);
                a2 = ((FloatVector) b2.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28)
                        .convertShape(VectorOperators.I2F, F, 0)).mul(s2).fma(vLo, a2);
                a3 = ((FloatVector) b3.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28)
                        .convertShape(VectorOperators.I2F, F, 0)).mul(s3).fma(vLo, a3);
                a0 = ((FloatVector) b0.lanewise(VectorOperators.ASHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .mul(s0).fma(vHi, a0);
                a1 = ((FloatVector) b1.lanewise(VectorOperators.ASHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .mul(s1).fma(vHi, a1);
                a2 = ((FloatVector) b2.lanewise(VectorOperators.ASHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .mul(s2).fma(vHi, a2);
                a3 = ((FloatVector) b3.lanewise(VectorOperators.ASHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .mul(s3).fma(vHi, a3);
            }
        }
        out[o0] = VectorMath.sum(a0, tmp);
        out[o0 + 1] = VectorMath.sum(a1, tmp);
        out[o0 + 2] = VectorMath.sum(a2, tmp);
        out[o0 + 3] = VectorMath.sum(a3, tmp);
    }

    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            int d = dOff + (r - from) * cols;
            long o = layout.chunkOffset(r, 0);
            for (int g = 0, k = 0; g < groups; g++) {
                float s = scales[r * groups + g];
                for (int end = k + groupSize; k < end; k += BLOCK, o += STEP) {
                    IntVector b = (IntVector) ByteVector.fromMemorySegment(QuantVectors.B, packed, o, LE)
                            .convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) b.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28)
                            .convertShape(VectorOperators.I2F, F, 0)).mul(s).intoArray(dst, d + k);
                    ((FloatVector) b.lanewise(VectorOperators.ASHR, 4)
                            .convertShape(VectorOperators.I2F, F, 0)).mul(s).intoArray(dst, d + k + LANES);
                }
            }
        }
    }

    MemorySegment bytes() {
        return packed;
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
        return packed.byteSize() + 4L * scales.length;
    }

    @Override
    public String format() {
        return groupSize == cols ? "W4A16" : "W4A16 g" + groupSize;
    }
}
