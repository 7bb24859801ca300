package dev.tinyrt.backend.cpu;

import dev.tinyrt.io.DType;

import java.lang.foreign.MemorySegment;

/** A dense F32, F16 or BF16 matrix, usually a zero-copy view into a memory-mapped checkpoint. */
final class DenseWeight implements CpuWeight {
    private final DType dtype;
    private final int rows;
    private final int cols;
    private final MemorySegment bytes;
    private final long rowBytes;
    private final long ownedBytes;

    DenseWeight(DType dtype, int rows, int cols, MemorySegment bytes, long ownedBytes) {
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new IllegalArgumentException("dense CPU weights are F32, F16 or BF16, not " + dtype);
        }
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
        this.bytes = bytes;
        this.rowBytes = (long) cols * dtype.byteSize();
        this.ownedBytes = ownedBytes;
    }

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        long off = row * rowBytes;
        return switch (dtype) {
            case F32 -> VectorMath.dotF32(x, xOff, bytes, off, cols, tmp);
            case F16 -> VectorMath.dotF16(x, xOff, bytes, off, cols, tmp);
            default -> VectorMath.dotBF16(x, xOff, bytes, off, cols, tmp);
        };
    }

    /** Rows are contiguous: widen the whole range in one pass. */
    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        long off = from * rowBytes;
        int n = Math.multiplyExact(to - from, cols);
        switch (dtype) {
            case F32 -> VectorMath.copyF32(bytes, off, dst, dOff, n);
            case F16 -> VectorMath.widenF16(bytes, off, dst, dOff, n);
            default -> VectorMath.widenBF16(bytes, off, dst, dOff, n);
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
        return ownedBytes;
    }

    DType dtype() {
        return dtype;
    }

    MemorySegment bytes() {
        return bytes;
    }

    @Override
    public String format() {
        return dtype.name();
    }
}
