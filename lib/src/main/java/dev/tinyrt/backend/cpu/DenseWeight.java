package dev.tinyrt.backend.cpu;

import java.lang.foreign.MemorySegment;

/** A dense F32, F16 or BF16 matrix, usually a zero-copy view into a memory-mapped checkpoint. */
final class DenseWeight implements CpuWeight {
    private final DenseFormat format;
    private final int rows;
    private final int cols;
    private final MemorySegment bytes;
    private final long rowBytes;
    private final long ownedBytes;

    DenseWeight(DenseFormat format, int rows, int cols, MemorySegment bytes, long ownedBytes) {
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.bytes = bytes;
        this.rowBytes = (long) cols * format.bytes;
        this.ownedBytes = ownedBytes;
    }

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        return format.dot(x, xOff, bytes, row * rowBytes, cols, tmp);
    }

    /** Rows are contiguous: widen the whole range in one pass. */
    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        format.widen(bytes, from * rowBytes, dst, dOff, Math.multiplyExact(to - from, cols));
    }

    DenseFormat denseFormat() {
        return format;
    }

    MemorySegment bytes() {
        return bytes;
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
        return ownedBytes;
    }

    @Override
    public String format() {
        return format.name();
    }
}
