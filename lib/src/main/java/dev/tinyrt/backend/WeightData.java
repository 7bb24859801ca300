package dev.tinyrt.backend;

import dev.tinyrt.io.DType;

import java.lang.foreign.MemorySegment;

/**
 * A weight as it sits in host memory (often a zero-copy slice of a memory-mapped checkpoint), before a backend
 * turns it into its own {@link Weight}. Matrices are row-major {@code [rows, cols]} = {@code [out, in]}; vectors
 * (norm gains) have one row.
 */
public sealed interface WeightData {
    String name();

    int rows();

    int cols();

    /** Dense F32, F16 or BF16 values, little-endian. */
    record Dense(String name, DType dtype, int rows, int cols, MemorySegment bytes) implements WeightData {
        public Dense {
            long expected = (long) rows * cols * dtype.byteSize();
            if (bytes.byteSize() != expected) {
                throw new IllegalArgumentException(name + ": " + bytes.byteSize() + " bytes for " + rows + "x" + cols
                        + " " + dtype + " (expected " + expected + ")");
            }
        }
    }
}
