package dev.tinyrt.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * A dense matrix with wide rows, copied into column blocks: block b holds columns {@code [b * blockCols, ...)} of
 * every row, row after row. Decode then streams one block at a time while the matching slice of x (8 KB for
 * 2048 columns) stays in L1. In row-major order a row as wide as TinyLlama's down projection (5632) is read
 * between two uses of each x element, the 22 KB x falls out of the 32 KB L1 on every row, and decode ran at
 * about 60% of the memory bandwidth there. Each row's accumulator is carried from block to block, so the
 * results are bit for bit those of the row-major weight.
 */
final class ColumnBlockedWeight implements CpuWeight {
    /** Columns per block: x's slice (8 KB) plus the weight stream fit L1. A multiple of any vector width. */
    static final int BLOCK_COLS = 2048;
    /** Rows whose accumulators are carried across the blocks at once (4 KB of accumulators). */
    private static final int ROW_GROUP = 64;
    private static final ThreadLocal<float[]> ACCUMULATORS = ThreadLocal.withInitial(() -> new float[ROW_GROUP * LANES]);

    private final DenseFormat format;
    private final int rows;
    private final int cols;
    private final int blockCols;
    private final int blocks;
    /** Columns [0, vectorCols) go through the vector kernels, the rest through the scalar tail. */
    private final int vectorCols;
    private final MemorySegment data;

    /** Copies the row-major {@code source} into blocks of {@code blockCols} columns (a multiple of LANES). */
    ColumnBlockedWeight(DenseFormat format, int rows, int cols, MemorySegment source, int blockCols) {
        if (blockCols % LANES != 0) {
            throw new IllegalArgumentException("block width " + blockCols + " is not a multiple of " + LANES);
        }
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.blockCols = blockCols;
        this.blocks = (cols + blockCols - 1) / blockCols;
        this.vectorCols = F.loopBound(cols);
        this.data = Arena.ofAuto().allocate((long) rows * cols * format.bytes, 64);
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                MemorySegment.copy(source, ((long) r * cols + first(b)) * format.bytes, data, offset(b, r),
                        (long) width(b) * format.bytes);
            }
        }
    }

    private int first(int block) {
        return block * blockCols;
    }

    private int width(int block) {
        return Math.min(blockCols, cols - first(block));
    }

    /** Columns of the block that belong to the scheme's vector part. */
    private int vectorWidth(int block) {
        return Math.max(0, Math.min(width(block), vectorCols - first(block)));
    }

    /** Byte offset of row {@code row}'s piece of block {@code block}. */
    private long offset(int block, int row) {
        return ((long) rows * first(block) + (long) row * width(block)) * format.bytes;
    }

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        Arrays.fill(tmp, 0, LANES, 0f);
        for (int b = 0; b < blocks; b++) {
            format.accumulate(tmp, 0, x, xOff + first(b), data, offset(b, row), vectorWidth(b));
        }
        return finish(VectorMath.laneSum(tmp, 0), row, x, xOff);
    }

    /** The scalar tail, which lies in the last block (every earlier block is a whole number of vectors). */
    private float finish(float sum, int row, float[] x, int xOff) {
        int last = blocks - 1;
        return format.tail(sum, x, xOff + first(last), data, offset(last, row), vectorCols - first(last),
                width(last));
    }

    /** A group of rows at a time: block by block, each row's accumulator picking up where the last block left it. */
    @Override
    public void dotRows(int from, int to, float[] x, int xOff, float[] out, int oOff, float[] tmp) {
        float[] acc = ACCUMULATORS.get();
        for (int r0 = from; r0 < to; r0 += ROW_GROUP) {
            int n = Math.min(ROW_GROUP, to - r0);
            Arrays.fill(acc, 0, n * LANES, 0f);
            for (int b = 0; b < blocks; b++) {
                for (int i = 0; i < n; i++) {
                    format.accumulate(acc, i * LANES, x, xOff + first(b), data, offset(b, r0 + i), vectorWidth(b));
                }
            }
            for (int i = 0; i < n; i++) {
                out[oOff + r0 - from + i] = finish(VectorMath.laneSum(acc, i * LANES), r0 + i, x, xOff);
            }
        }
    }

    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        for (int r = from; r < to; r++) {
            for (int b = 0; b < blocks; b++) {
                format.widen(data, offset(b, r), dst, dOff + (r - from) * cols + first(b), width(b));
            }
        }
    }

    MemorySegment data() {
        return data;
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
        return data.byteSize();
    }

    @Override
    public String format() {
        return format.name();
    }
}
