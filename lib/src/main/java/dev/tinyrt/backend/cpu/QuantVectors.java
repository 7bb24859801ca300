package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.I;
import static dev.tinyrt.backend.cpu.VectorMath.LE;

/**
 * Widening of packed weight bytes to exact fp32 (or int32) in registers, {@link VectorMath#LANES} values at a time,
 * for the quantized formats. Each has a scalar twin that gives the same bits for the scalar tail and for tests.
 */
final class QuantVectors {
    /** Bytes with as many lanes as {@link VectorMath#F}: one load widens to exactly one int or float vector. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));

    /** e4m3 decoding table for the scalar paths, built from {@link #e4m3(int)}. */
    private static final float[] E4M3 = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            E4M3[b] = e4m3((byte) b);
        }
    }

    private QuantVectors() {
    }

    /** LANES signed bytes at {@code w[off..]} as ints. */
    static IntVector ints(MemorySegment w, long off) {
        return (IntVector) ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2I, I, 0);
    }

    /** LANES signed bytes at {@code a[off..]} as ints. */
    static IntVector ints(byte[] a, int off) {
        return (IntVector) ByteVector.fromArray(B, a, off).convertShape(VectorOperators.B2I, I, 0);
    }

    static FloatVector floats(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F, 0);
    }

    /** LANES int8 values at {@code w[off..]} as floats (exact). */
    static FloatVector int8(MemorySegment w, long off) {
        return floats(ints(w, off));
    }

    /**
     * LANES e4m3 values as floats, exact for every code but the two NaNs (weights hold none): the sign-extended
     * byte shifted left by 20 has the sign at bit 31 (copies at bits 28-30, masked off) and exponent+mantissa in
     * fp32 position; scaling by 2^120 rebiases the exponent (7 -> 127) and turns e4m3 subnormals into the right
     * fp32 normals in one exact multiply (as {@link VectorMath#f16} does for fp16).
     */
    static FloatVector e4m3(MemorySegment w, long off) {
        return ints(w, off).lanewise(VectorOperators.LSHL, 20).and(0x87F00000).reinterpretAsFloats().mul(0x1p120f);
    }

    /** The scalar twin of {@link #e4m3(MemorySegment, long)}. */
    static float e4m3(byte b) {
        return Float.intBitsToFloat((b << 20) & 0x87F00000) * 0x1p120f;
    }

    static float e4m3Table(byte b) {
        return E4M3[b & 0xFF];
    }

    /** Low nibbles of LANES packed bytes (sign-extended ints), as signed 4-bit values. */
    static IntVector lowNibbles(IntVector bytes) {
        return bytes.lanewise(VectorOperators.LSHL, 28).lanewise(VectorOperators.ASHR, 28);
    }

    /** High nibbles of LANES packed bytes (sign-extended ints), as signed 4-bit values. */
    static IntVector highNibbles(IntVector bytes) {
        return bytes.lanewise(VectorOperators.ASHR, 4);
    }
}
