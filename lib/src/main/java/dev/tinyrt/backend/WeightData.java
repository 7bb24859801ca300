package dev.tinyrt.backend;

import dev.tinyrt.io.DType;

import java.lang.foreign.MemorySegment;

/**
 * A weight as it sits in host memory (often a zero-copy slice of a memory-mapped checkpoint), before a backend
 * turns it into its own {@link Weight}. Matrices are row-major {@code [rows, cols]} = {@code [out, in]}; vectors
 * (norm gains) have one row. These are the engine's canonical layouts: checkpoint readers (HF, TensorRT-LLM)
 * convert their storage layouts into them, backends consume only them.
 *
 * <p>Quantized forms may carry {@code preScale} ({@code [cols]} or {@code null}): the activation is multiplied by
 * it element-wise before the product, as TensorRT-LLM's {@code prequant_scaling_factor} (AWQ, SmoothQuant).
 */
public sealed interface WeightData {
    String name();

    int rows();

    int cols();

    /** Bytes of weights and scales in this form. */
    long byteSize();

    /** Dense F32, F16 or BF16 values, little-endian. */
    record Dense(String name, DType dtype, int rows, int cols, MemorySegment bytes) implements WeightData {
        public Dense {
            long expected = (long) rows * cols * dtype.byteSize();
            if (bytes.byteSize() != expected) {
                throw new IllegalArgumentException(name + ": " + bytes.byteSize() + " bytes for " + rows + "x" + cols
                        + " " + dtype + " (expected " + expected + ")");
            }
        }

        @Override
        public long byteSize() {
            return bytes.byteSize();
        }
    }

    /** W8A16: int8 {@code [rows, cols]}, w = q * scales[row]. */
    record Int8PerChannel(String name, int rows, int cols, MemorySegment weights, float[] scales, float[] preScale)
            implements WeightData {
        public Int8PerChannel {
            check(name, weights.byteSize() == (long) rows * cols, "int8 weights of " + rows + "x" + cols);
            check(name, scales.length == rows, "one scale per output row");
            check(name, preScale == null || preScale.length == cols, "preScale of length cols");
        }

        @Override
        public long byteSize() {
            return weights.byteSize() + 4L * scales.length + (preScale == null ? 0 : 4L * preScale.length);
        }
    }

    /**
     * W4A16: signed 4-bit values packed two per byte along a row ({@code [rows, cols/2]}: byte j holds column 2j in
     * its low nibble and 2j+1 in its high nibble), w = q * scales[row * cols/groupSize + col/groupSize].
     */
    record Int4PerGroup(String name, int rows, int cols, int groupSize, MemorySegment packed, float[] scales,
                        float[] preScale) implements WeightData {
        public Int4PerGroup {
            check(name, cols % 2 == 0 && groupSize > 0 && cols % groupSize == 0, "cols divisible by the group size");
            check(name, packed.byteSize() == (long) rows * cols / 2, "packed int4 weights of " + rows + "x" + cols);
            check(name, scales.length == rows * (cols / groupSize), "one scale per row and group");
            check(name, preScale == null || preScale.length == cols, "preScale of length cols");
        }

        @Override
        public long byteSize() {
            return packed.byteSize() + 4L * scales.length + (preScale == null ? 0 : 4L * preScale.length);
        }
    }

    /**
     * W8A8 (SmoothQuant): int8 weights {@code [rows, cols]} with per-row scales; activations are quantized to int8
     * per token at run time and the products accumulate in integers.
     */
    record Int8W8A8(String name, int rows, int cols, MemorySegment weights, float[] scales, float[] preScale)
            implements WeightData {
        public Int8W8A8 {
            check(name, weights.byteSize() == (long) rows * cols, "int8 weights of " + rows + "x" + cols);
            check(name, scales.length == rows, "one scale per output row");
            check(name, preScale == null || preScale.length == cols, "preScale of length cols");
        }

        @Override
        public long byteSize() {
            return weights.byteSize() + 4L * scales.length + (preScale == null ? 0 : 4L * preScale.length);
        }
    }

    /**
     * FP8 (e4m3) weights {@code [rows, cols]}, w = q * weightScale; activations are quantized to e4m3 with the
     * static {@code activationScale} (amax/448 from calibration).
     */
    record Fp8PerTensor(String name, int rows, int cols, MemorySegment weights, float weightScale,
                        float activationScale) implements WeightData {
        public Fp8PerTensor {
            check(name, weights.byteSize() == (long) rows * cols, "e4m3 weights of " + rows + "x" + cols);
            check(name, weightScale > 0 && activationScale > 0, "positive scales");
        }

        @Override
        public long byteSize() {
            return weights.byteSize() + 8;
        }
    }

    private static void check(String name, boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(name + ": expected " + what);
        }
    }
}
