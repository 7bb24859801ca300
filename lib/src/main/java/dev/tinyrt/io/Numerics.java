package dev.tinyrt.io;

/**
 * Bit-exact scalar conversions between fp32 and the narrow float formats stored in checkpoints.
 * Narrowing rounds to nearest, ties to even, like PyTorch's casts.
 */
public final class Numerics {
    /** Largest finite e4m3fn value. */
    public static final float E4M3_MAX = 448f;

    private static final float[] E4M3_TABLE = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            E4M3_TABLE[b] = decodeE4m3(b);
        }
    }

    private Numerics() {
    }

    /** IEEE binary16 to fp32 (exact). */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** fp32 to IEEE binary16, round-to-nearest-even; overflow gives infinity, NaN stays NaN. */
    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }

    /** bfloat16 (the top 16 bits of an fp32) to fp32 (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * fp32 to bfloat16, round-to-nearest-even; overflow gives infinity. NaN stays NaN: the canonical quiet NaN with
     * the input's sign (0x7FC0 / 0xFFC0), as Eigen/TensorFlow/JAX do (plain truncation could turn a NaN into infinity).
     */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16 & 0x8000) | 0x7FC0);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** e4m3fn to fp32 (exact): 0x7F/0xFF are NaN, 0x7E is 448, 0x08 is 2^-6, 0x01 is 2^-9. */
    public static float e4m3ToFloat(byte bits) {
        return E4M3_TABLE[bits & 0xFF];
    }

    /**
     * fp32 to e4m3fn, round-to-nearest-even. The format has no infinities: finite values beyond ±448 and
     * ±infinity saturate to ±448 (like CUDA's __NV_SATFINITE); NaN becomes 0x7F (0xFF if its sign bit is set).
     */
    public static byte floatToE4m3(float value) {
        int sign = (Float.floatToRawIntBits(value) >>> 24) & 0x80;
        if (Float.isNaN(value)) {
            return (byte) (sign | 0x7F);
        }
        float magnitude = Math.abs(value);
        if (magnitude >= E4M3_MAX) {
            return (byte) (sign | 0x7E);
        }
        int code;
        if (magnitude < 0x1p-6f) {
            // Subnormals are multiples of 2^-9; a result of 8 is exactly the smallest normal's encoding 0x08.
            code = (int) Math.rint(magnitude * 512.0);
        } else {
            int exponent = Math.getExponent(magnitude); // -6..8 here
            int mantissa = (int) Math.rint(Math.scalb((double) magnitude, 3 - exponent)); // 8..16, exact scaling
            if (mantissa == 16) {
                exponent++;
                mantissa = 8;
            }
            code = ((exponent + 7) << 3) | (mantissa - 8);
        }
        return (byte) (sign | Math.min(code, 0x7E));
    }

    private static float decodeE4m3(int b) {
        float sign = (b & 0x80) != 0 ? -1f : 1f;
        int exponent = (b >>> 3) & 0xF;
        int mantissa = b & 0x7;
        if ((b & 0x7F) == 0x7F) {
            return Float.intBitsToFloat(((b & 0x80) << 24) | 0x7FC00000);
        }
        if (exponent == 0) {
            return sign * Math.scalb((float) mantissa, -9);
        }
        return sign * Math.scalb((float) (8 + mantissa), exponent - 10);
    }
}
