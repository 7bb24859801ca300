package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * W4A16 and AWQ: signed 4-bit values with one scale per row and group of columns, w = q * scale[row, col / group],
 * dequantized in registers; activations stay fp32, times AWQ's pre-scale if any.
 *
 * <p>The canonical packing (low nibble = even column) would need a lane shuffle to bring the columns back in
 * order. So the values are repacked once, per block of 2·LANES columns: byte j of a block holds column j in its
 * low nibble and column LANES + j in its high nibble. One load of LANES bytes then widens, by two shifts, to the
 * two consecutive float vectors the accumulation scheme of {@link VectorMath} needs.
 */
final class Int4Weight implements CpuWeight {
    /** Columns per packed block: a group must not start inside one. */
    static final int BLOCK = 2 * LANES;

    private final int rows;
    private final int cols;
    private final int groupSize;
    private final int groups;
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
        this.packed = repack(rows, cols, canonical);
        this.scales = scales.clone();
        this.input = InputFormat.preScaled(preScale);
    }

    /** The canonical nibble pairs regrouped into blocks (see the class comment). */
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

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        long base = (long) row * (cols / 2);
        int scaleBase = row * groups;
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK) {
            float s = scales[scaleBase + k / groupSize];
            IntVector bytes = QuantVectors.ints(packed, base + k / 2);
            FloatVector lo = QuantVectors.floats(QuantVectors.lowNibbles(bytes)).mul(s);
            FloatVector hi = QuantVectors.floats(QuantVectors.highNibbles(bytes)).mul(s);
            acc = lo.fma(FloatVector.fromArray(F, x, xOff + k), acc);
            acc = hi.fma(FloatVector.fromArray(F, x, xOff + k + LANES), acc);
        }
        return VectorMath.sum(acc, tmp);
    }

    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            long base = (long) r * (cols / 2);
            int scaleBase = r * groups;
            int d = dOff + (r - from) * cols;
            for (int k = 0; k < cols; k += BLOCK) {
                float s = scales[scaleBase + k / groupSize];
                IntVector bytes = QuantVectors.ints(packed, base + k / 2);
                QuantVectors.floats(QuantVectors.lowNibbles(bytes)).mul(s).intoArray(dst, d + k);
                QuantVectors.floats(QuantVectors.highNibbles(bytes)).mul(s).intoArray(dst, d + k + LANES);
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
