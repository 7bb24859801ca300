package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.Weight;

/** An fp16 weight matrix {@code [rows=out, cols=in]} in device memory. */
final class CudaWeight implements Weight {
    final String name;
    private final int rows;
    private final int cols;
    private long pointer;

    CudaWeight(String name, long pointer, int rows, int cols) {
        this.name = name;
        this.pointer = pointer;
        this.rows = rows;
        this.cols = cols;
    }

    long pointer() {
        if (pointer == 0) {
            throw new IllegalStateException(name + " was consumed by concatRows and can no longer be used");
        }
        return pointer;
    }

    /** Marks the weight's memory as handed over (to a fused weight). */
    long release() {
        long p = pointer();
        pointer = 0;
        return p;
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
        return pointer == 0 ? 0 : 2L * rows * cols;
    }

    @Override
    public String format() {
        return "F16";
    }
}
