package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.Tensor;

/** A row-major device buffer {@code [rows, cols]}, fp16 (activations) or fp32 (residual stream, logits). */
final class CudaTensor implements Tensor {
    final long pointer;
    final boolean fp32;
    private final int rows;
    private final int cols;

    CudaTensor(long pointer, int rows, int cols, boolean fp32) {
        this.pointer = pointer;
        this.rows = rows;
        this.cols = cols;
        this.fp32 = fp32;
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
    public Tensor rows(int n) {
        if (n > rows || n < 0) {
            throw new IllegalArgumentException("view of " + n + " rows of a " + rows + "-row tensor");
        }
        return n == rows ? this : new CudaTensor(pointer, n, cols, fp32);
    }

    int elementBytes() {
        return fp32 ? 4 : 2;
    }

    long bytes() {
        return (long) rows * cols * elementBytes();
    }

    String dtype() {
        return fp32 ? "F32" : "F16";
    }
}
