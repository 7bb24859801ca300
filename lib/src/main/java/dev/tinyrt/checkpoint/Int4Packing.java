package dev.tinyrt.checkpoint;

/**
 * Packing of signed 4-bit values (held one per byte, row-major {@code [rows, cols]} = {@code [out, in]}) into the
 * three layouts that matter, always two values per byte with the first in the low nibble:
 * <ul>
 *   <li>tinyrt's canonical {@link dev.tinyrt.backend.WeightData.Int4PerGroup}: {@code [rows, cols/2]}, pairs of
 *       adjacent columns;</li>
 *   <li>TensorRT-LLM W4A16 (unprocessed output of symmetric_quantize): transposed {@code [cols, rows/2]}, pairs of
 *       adjacent output channels;</li>
 *   <li>ModelOpt W4A16_AWQ (quant_utils.py pack_int4_in_uint8): {@code [rows/2, cols]}, byte (j, i) holds rows 2j and
 *       2j+1 of column i.</li>
 * </ul>
 */
public final class Int4Packing {
    private Int4Packing() {
    }

    private static byte pair(byte low, byte high) {
        return (byte) ((low & 0x0F) | (high << 4));
    }

    private static byte low(byte b) {
        return (byte) ((b << 28) >> 28);
    }

    private static byte high(byte b) {
        return (byte) (b >> 4);
    }

    public static byte[] packCanonical(byte[] v, int rows, int cols) {
        byte[] out = new byte[rows * cols / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = pair(v[2 * i], v[2 * i + 1]);
        }
        return out;
    }

    public static byte[] unpackCanonical(byte[] packed, int rows, int cols) {
        byte[] v = new byte[rows * cols];
        for (int i = 0; i < packed.length; i++) {
            v[2 * i] = low(packed[i]);
            v[2 * i + 1] = high(packed[i]);
        }
        return v;
    }

    public static byte[] packTransposed(byte[] v, int rows, int cols) {
        byte[] out = new byte[rows * cols / 2];
        int half = rows / 2;
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < half; j++) {
                out[i * half + j] = pair(v[(2 * j) * cols + i], v[(2 * j + 1) * cols + i]);
            }
        }
        return out;
    }

    public static byte[] unpackTransposed(byte[] packed, int rows, int cols) {
        byte[] v = new byte[rows * cols];
        int half = rows / 2;
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < half; j++) {
                byte b = packed[i * half + j];
                v[(2 * j) * cols + i] = low(b);
                v[(2 * j + 1) * cols + i] = high(b);
            }
        }
        return v;
    }

    public static byte[] packRowPairs(byte[] v, int rows, int cols) {
        byte[] out = new byte[rows * cols / 2];
        for (int j = 0; j < rows / 2; j++) {
            for (int i = 0; i < cols; i++) {
                out[j * cols + i] = pair(v[(2 * j) * cols + i], v[(2 * j + 1) * cols + i]);
            }
        }
        return out;
    }

    public static byte[] unpackRowPairs(byte[] packed, int rows, int cols) {
        byte[] v = new byte[rows * cols];
        for (int j = 0; j < rows / 2; j++) {
            for (int i = 0; i < cols; i++) {
                byte b = packed[j * cols + i];
                v[(2 * j) * cols + i] = low(b);
                v[(2 * j + 1) * cols + i] = high(b);
            }
        }
        return v;
    }

    /** Transposes an int8 {@code [rows, cols]} matrix (W8A16 stores {@code [in, out]}). */
    public static byte[] transpose(byte[] v, int rows, int cols) {
        byte[] out = new byte[v.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = v[r * cols + c];
            }
        }
        return out;
    }
}
