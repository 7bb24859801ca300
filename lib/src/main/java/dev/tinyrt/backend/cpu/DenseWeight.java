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
    public float dot(int row, float[] x, int xOff) {
        long off = row * rowBytes;
        return switch (dtype) {
            case F32 -> VectorMath.dotF32(x, xOff, bytes, off, cols);
            case F16 -> VectorMath.dotF16(x, xOff, bytes, off, cols);
            default -> VectorMath.dotBF16(x, xOff, bytes, off, cols);
        };
    }

    @Override
    public void row(int row, float[] dst, int dOff) {
        long off = row * rowBytes;
        switch (dtype) {
            case F32 -> VectorMath.copyF32(bytes, off, dst, dOff, cols);
            case F16 -> VectorMath.widenF16(bytes, off, dst, dOff, cols);
            default -> VectorMath.widenBF16(bytes, off, dst, dOff, cols);
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

    @Override
    public String format() {
        return dtype.name();
    }
}
