package dev.tinyrt.quant;

import dev.tinyrt.io.DType;

import java.util.stream.IntStream;

/** Symmetric round-to-nearest integer quantization of a row-major {@code [rows, cols]} weight matrix. */
public final class IntQuantizer {
    private IntQuantizer() {
    }

    /**
     * One scale per row and group of {@code groupSize} columns (pass {@code cols} for per-channel), each
     * {@code amax / scheme.divisor()} rounded to {@code scaleDtype}.
     */
    public static QuantizedInts quantize(float[] w, int rows, int cols, int groupSize, IntScheme scheme,
                                         DType scaleDtype) {
        return quantize(w, rows, cols, groupSize, scheme, scaleDtype, null);
    }

    /**
     * As {@link #quantize(float[], int, int, int, IntScheme, DType)}, with each group's range taken from
     * {@code groupAmax} ({@code [rows * groups]}, e.g. clipped by AWQ) instead of the group's own max |w|; values
     * beyond it saturate.
     */
    public static QuantizedInts quantize(float[] w, int rows, int cols, int groupSize, IntScheme scheme,
                                         DType scaleDtype, float[] groupAmax) {
        if (w.length != rows * cols) {
            throw new IllegalArgumentException(w.length + " weights for " + rows + "x" + cols);
        }
        if (groupSize <= 0 || cols % groupSize != 0) {
            throw new IllegalArgumentException("group size " + groupSize + " does not divide " + cols + " columns");
        }
        int groups = cols / groupSize;
        byte[] values = new byte[rows * cols];
        float[] scales = new float[rows * groups];
        IntStream.range(0, rows).parallel().forEach(r -> {
            for (int g = 0; g < groups; g++) {
                int from = r * cols + g * groupSize;
                float amax = 0;
                if (groupAmax != null) {
                    amax = groupAmax[r * groups + g];
                } else {
                    for (int i = 0; i < groupSize; i++) {
                        amax = Math.max(amax, Math.abs(w[from + i]));
                    }
                }
                float scale = ScaleStorage.scaleFor(amax, scheme.divisor(), scaleDtype);
                scales[r * groups + g] = scale;
                for (int i = 0; i < groupSize; i++) {
                    values[from + i] = scheme.quantize(w[from + i], scale);
                }
            }
        });
        return new QuantizedInts(rows, cols, groupSize, values, scales);
    }
}
