package dev.tinyrt.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * Where one tensor lives in a safetensors file.
 *
 * @param shape      dimensions, outermost first; empty for a scalar. Defensively copied in and out.
 * @param byteOffset offset from the start of the data section (the byte after the JSON header)
 * @param byteLength numel * dtype size
 */
public record TensorInfo(String name, DType dtype, long[] shape, long byteOffset, long byteLength) {

    /** @throws IllegalArgumentException if dims or offsets are negative or byteLength is not numel * dtype size */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
        if (byteOffset < 0) {
            throw new IllegalArgumentException("negative byteOffset " + byteOffset + " for " + name);
        }
        long expected = byteLengthOf(dtype, shape);
        if (byteLength != expected) {
            throw new IllegalArgumentException("tensor " + name + " " + dtype + Arrays.toString(shape)
                    + " needs " + expected + " bytes, not " + byteLength);
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions (0 for a scalar). */
    public int rank() {
        return shape.length;
    }

    /** One dimension, without copying the shape. */
    public long dim(int axis) {
        return shape[axis];
    }

    /** Number of elements: the product of the dims (1 for a scalar, 0 if any dim is 0). */
    public long numel() {
        return numelOf(shape);
    }

    /**
     * Product of dims.
     *
     * @throws IllegalArgumentException for a negative dim
     * @throws ArithmeticException      if the product overflows a long
     */
    static long numelOf(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** numel * dtype size, with the exceptions of {@link #numelOf}. */
    static long byteLengthOf(DType dtype, long[] shape) {
        return Math.multiplyExact(numelOf(shape), (long) dtype.byteSize());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && byteOffset == t.byteOffset && byteLength == t.byteLength;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), byteOffset, byteLength);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @" + byteOffset + "+" + byteLength;
    }
}
