package dev.tinyrt.quant;

/**
 * Integer weights before packing: one signed value per byte, row-major {@code [rows, cols]} ({@code [out, in]}),
 * and one scale per row and group of {@code groupSize} columns ({@code groupSize == cols} is per channel).
 * w ≈ values[r, c] * scales[r * groups + c / groupSize].
 */
public record QuantizedInts(int rows, int cols, int groupSize, byte[] values, float[] scales) {
    public QuantizedInts {
        if (groupSize <= 0 || cols % groupSize != 0) {
            throw new IllegalArgumentException("group size " + groupSize + " does not divide " + cols + " columns");
        }
        if (values.length != rows * cols || scales.length != rows * (cols / groupSize)) {
            throw new IllegalArgumentException("values/scales do not match " + rows + "x" + cols + " / " + groupSize);
        }
    }

    public int groupsPerRow() {
        return cols / groupSize;
    }

    public float scale(int row, int col) {
        return scales[row * groupsPerRow() + col / groupSize];
    }

    /** Dequantized weights, row-major. */
    public float[] dequantize() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = values[r * cols + c] * scale(r, c);
            }
        }
        return out;
    }
}
