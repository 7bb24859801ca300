package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import static dev.tinyrt.backend.cpu.VectorMath.F;

/**
 * Shared pieces of the quantized formats' kernels. The kernels spell their Vector API expressions out in their
 * loops instead of calling helpers that take or return vectors: where C2 does not inline such a helper (it runs
 * out of inlining budget in deep call chains), every vector is boxed on the heap and the loop runs 10-50 times
 * slower. The Vector API's own methods are always inlined.
 */
final class QuantVectors {
    /** Bytes with as many lanes as {@link VectorMath#F}: one load widens to exactly one int or float vector. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    /** Keeps an e4m3 value's sign, exponent and mantissa once its sign-extended byte is shifted left by 20. */
    static final int E4M3_MASK = 0x87F00000;
    /** Rebiases the exponent from e4m3's 7 to fp32's 127. */
    static final float E4M3_REBIAS = 0x1p120f;

    private static final float[] E4M3 = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            E4M3[b] = e4m3((byte) b);
        }
    }

    private QuantVectors() {
    }

    /**
     * An e4m3 value as a float, exact for every code but the two NaNs (weights hold none): the sign-extended byte
     * shifted left by 20 has the sign at bit 31 (copies at bits 28-30, masked off) and exponent+mantissa in fp32
     * position; scaling by 2^120 rebiases the exponent and turns e4m3 subnormals into the right fp32 normals in
     * one exact multiply (as {@link VectorMath#f16} does for fp16). The vector kernels do the same per lane.
     */
    static float e4m3(byte b) {
        return Float.intBitsToFloat((b << 20) & E4M3_MASK) * E4M3_REBIAS;
    }

    /** {@link #e4m3(byte)} by table lookup, for the scalar loops. */
    static float e4m3Table(byte b) {
        return E4M3[b & 0xFF];
    }
}
