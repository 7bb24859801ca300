package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.Weight;

import java.util.List;

/**
 * A weight matrix {@code [rows=out, cols=in]} in device memory, in one of the formats the kernels read (layouts in
 * lib/src/main/cuda/qgemv.cuh):
 * <ul>
 *   <li>{@link Format#F16}: fp16 values.</li>
 *   <li>{@link Format#W8A16}: offset-binary int8 values, fp32 scale per row.</li>
 *   <li>{@link Format#W4A16}: offset-binary int4 values two per byte along the row, fp16 scale per row and group.</li>
 *   <li>{@link Format#FP8}: e4m3 values, fp32 per-row copies of weight scale * activation scale; x is quantized
 *       to e4m3 with {@link #activationScale} before the product.</li>
 *   <li>{@link Format#W8A8}: SmoothQuant, W8A16's layout and kernels; x is pre-scaled and quantized to int8 per
 *       token first (tinyrt_quant_int8_token), so the kernels multiply the int8 levels times the token's scale.</li>
 * </ul>
 * Quantized weights may carry an fp32 pre-scale of the activations ({@link #preScale}): one row, or two for a fused
 * weight whose rows from {@link #preSplit} on use the second (gate|up of an AWQ checkpoint). W8A8 applies its one
 * pre-scale before quantizing x, not in the product.
 */
final class CudaWeight implements Weight {
    enum Format {
        F16("F16", null), W8A16("W8A16", "w8"), W4A16("W4A16", "w4"), FP8("FP8", "f8"), W8A8("W8A8", "w8");

        final String label;
        /** Kernel name part ({@code null} for fp16, whose kernels predate the quantized ones). */
        final String kernel;

        Format(String label, String kernel) {
            this.label = label;
            this.kernel = kernel;
        }

        boolean quantized() {
            return this != F16;
        }

        /**
         * Whether x is quantized before the product (FP8: to e4m3 with the static activation scale; W8A8: to int8
         * per token after its pre-scale).
         */
        boolean quantizesActivations() {
            return this == FP8 || this == W8A8;
        }
    }

    /** A pre-scale and the first row (of a fused weight) it applies to; host copy kept for fusing. */
    record PreScale(int firstRow, float[] values) {
    }

    final String name;
    final Format format;
    private final int rows;
    private final int cols;
    /** Columns per scale (W4A16); {@code cols} otherwise. */
    final int groupSize;
    private long pointer;
    private final long scales;
    private final long preScale;
    final int preSplit;
    /** The pre-scales by first row (empty when none), for {@link CudaBackend#concatRows}. */
    final List<PreScale> preScales;
    private final long bytes;
    /** FP8: the static activation scale (calibrated amax / 448); 0 otherwise. */
    float activationScale;

    /** An fp16 weight. */
    CudaWeight(String name, long pointer, int rows, int cols) {
        this(name, Format.F16, pointer, 0, 0, rows, List.of(), rows, cols, cols, 2L * rows * cols);
    }

    CudaWeight(String name, Format format, long pointer, long scales, long preScale, int preSplit,
               List<PreScale> preScales, int rows, int cols, int groupSize, long bytes) {
        this.name = name;
        this.format = format;
        this.pointer = pointer;
        this.scales = scales;
        this.preScale = preScale;
        this.preSplit = preSplit;
        this.preScales = List.copyOf(preScales);
        this.rows = rows;
        this.cols = cols;
        this.groupSize = groupSize;
        this.bytes = bytes;
    }

    long pointer() {
        if (pointer == 0) {
            throw new IllegalStateException(name + " was consumed by concatRows and can no longer be used");
        }
        return pointer;
    }

    /** The values' pointer of an fp16 weight (norm gains, embeddings, fp16 matrices). */
    long f16() {
        if (format != Format.F16) {
            throw new IllegalArgumentException(name + " is " + format.label + ", this op needs an fp16 weight");
        }
        return pointer();
    }

    long scales() {
        pointer();
        return scales;
    }

    /** Device pre-scale {@code [1 or 2, cols]} fp32, or 0. */
    long preScale() {
        pointer();
        return preScale;
    }

    /** Bytes of values and of scales per row: what concatRows copies. */
    long valueBytesPerRow() {
        return switch (format) {
            case F16 -> 2L * cols;
            case W8A16, FP8, W8A8 -> cols;
            case W4A16 -> cols / 2;
        };
    }

    long scaleBytesPerRow() {
        return switch (format) {
            case F16 -> 0;
            case W8A16, FP8, W8A8 -> 4;
            case W4A16 -> 2L * (cols / groupSize);
        };
    }

    /** Marks the weight's memory as handed over (to a fused weight); returns every pointer it owned. */
    long[] release() {
        long p = pointer();
        pointer = 0;
        return new long[]{p, scales, preScale};
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
        return pointer == 0 ? 0 : bytes;
    }

    @Override
    public String format() {
        return format.label;
    }
}
