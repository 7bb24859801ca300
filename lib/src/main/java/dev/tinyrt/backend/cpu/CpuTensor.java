package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.Tensor;

/** Row-major fp32 activations on the Java heap; views share the array. */
final class CpuTensor implements Tensor {
    final float[] data;
    private final int rows;
    private final int cols;

    CpuTensor(int rows, int cols) {
        this(new float[Math.multiplyExact(rows, cols)], rows, cols);
    }

    private CpuTensor(float[] data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
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
        return n == rows ? this : new CpuTensor(data, n, cols);
    }

    int offset(int row) {
        return row * cols;
    }
}
