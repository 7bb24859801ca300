package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.io.Numerics;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.I;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * One layer's keys or values in the cache's element type. Quantized types store {@code x * (1 / scale)} (int8:
 * rounded to nearest even, clamped to ±127; fp8: e4m3 with saturation) and read back {@code q * scale}: one exact
 * widening and one rounding multiply per element, the same in the vector and the scalar loops, so a value reads the
 * same wherever it lands.
 */
abstract sealed class KvArray permits KvArray.F32, KvArray.F16, KvArray.Int8, KvArray.E4m3 {

    static KvArray allocate(KvCacheDtype dtype, int length, float scale) {
        return switch (dtype) {
            case FP32 -> new F32(length);
            case FP16 -> new F16(length);
            case INT8 -> new Int8(length, scale);
            case FP8 -> new E4m3(length, scale);
            case AUTO -> throw new IllegalArgumentException("AUTO is resolved by the backend");
        };
    }

    abstract void set(int index, float x);

    /** The stored value, dequantized. */
    abstract float get(int index);

    /** {@code dst[dOff ..+n)} = the stored values {@code [from, from + n)}, dequantized. */
    abstract void widen(int from, float[] dst, int dOff, int n);

    /** The fp32 storage itself where no conversion is needed (attention then reads it in place), else null. */
    float[] direct() {
        return null;
    }

    abstract long bytes();

    static final class F32 extends KvArray {
        private final float[] a;

        F32(int length) {
            a = new float[length];
        }

        @Override
        void set(int index, float x) {
            a[index] = x;
        }

        @Override
        float get(int index) {
            return a[index];
        }

        @Override
        void widen(int from, float[] dst, int dOff, int n) {
            System.arraycopy(a, from, dst, dOff, n);
        }

        @Override
        float[] direct() {
            return a;
        }

        @Override
        long bytes() {
            return 4L * a.length;
        }
    }

    static final class F16 extends KvArray {
        private final short[] a;

        F16(int length) {
            a = new short[length];
        }

        @Override
        void set(int index, float x) {
            a[index] = Float.floatToFloat16(x);
        }

        @Override
        float get(int index) {
            return Float.float16ToFloat(a[index]);
        }

        /** A plain loop: C2 turns Float.float16ToFloat into vcvtph2ps (see VectorMath.widenF16). */
        @Override
        void widen(int from, float[] dst, int dOff, int n) {
            for (int i = 0; i < n; i++) {
                dst[dOff + i] = Float.float16ToFloat(a[from + i]);
            }
        }

        @Override
        long bytes() {
            return 2L * a.length;
        }
    }

    static final class Int8 extends KvArray {
        private final byte[] a;
        private final float scale;
        private final float inverse;

        Int8(int length, float scale) {
            a = new byte[length];
            this.scale = scale;
            this.inverse = 1f / scale;
        }

        static byte quantize(float x, float inverse) {
            float r = (float) Math.rint(x * inverse);
            return (byte) Math.max(-127f, Math.min(127f, r));
        }

        @Override
        void set(int index, float x) {
            a[index] = quantize(x, inverse);
        }

        @Override
        float get(int index) {
            return a[index] * scale;
        }

        @Override
        void widen(int from, float[] dst, int dOff, int n) {
            int i = 0;
            for (; i + LANES <= n; i += LANES) {
                ((FloatVector) ByteVector.fromArray(QuantVectors.B, a, from + i)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(scale).intoArray(dst, dOff + i);
            }
            for (; i < n; i++) {
                dst[dOff + i] = a[from + i] * scale;
            }
        }

        @Override
        long bytes() {
            return a.length;
        }
    }

    static final class E4m3 extends KvArray {
        private final byte[] a;
        private final float scale;
        private final float inverse;

        E4m3(int length, float scale) {
            a = new byte[length];
            this.scale = scale;
            this.inverse = 1f / scale;
        }

        @Override
        void set(int index, float x) {
            a[index] = Numerics.floatToE4m3(x * inverse);
        }

        @Override
        float get(int index) {
            return QuantVectors.e4m3(a[index]) * scale;
        }

        /** e4m3 to fp32 per lane as {@link QuantVectors#e4m3(byte)} does it, then the scale. */
        @Override
        void widen(int from, float[] dst, int dOff, int n) {
            int i = 0;
            for (; i + LANES <= n; i += LANES) {
                IntVector b = (IntVector) ByteVector.fromArray(QuantVectors.B, a, from + i)
                        .convertShape(VectorOperators.B2I, I, 0);
                b.lanewise(VectorOperators.LSHL, 20).and(QuantVectors.E4M3_MASK).reinterpretAsFloats()
                        .mul(QuantVectors.E4M3_REBIAS).mul(scale).intoArray(dst, dOff + i);
            }
            for (; i < n; i++) {
                dst[dOff + i] = QuantVectors.e4m3(a[from + i]) * scale;
            }
        }

        @Override
        long bytes() {
            return a.length;
        }
    }
}
