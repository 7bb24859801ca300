package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** Decodes a tensor's little-endian bytes into a heap fp32 array. */
final class FloatDecoding {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Integers up to this magnitude are exact in fp32. */
    private static final long EXACT_FLOAT_INT = 1L << 24;
    /** Java's practical array length limit. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private FloatDecoding() {
    }

    static float[] toFloats(TensorInfo info, MemorySegment bytes, Path source) {
        long numel = info.numel();
        if (numel > MAX_ARRAY) {
            throw new TinyrtException(source + ": tensor " + SafetensorsFormatException.quote(info.name()) + " has "
                    + numel + " elements, too many for one Java float[]");
        }
        int n = (int) numel;
        float[] out = new float[n];
        switch (info.dtype()) {
            case F32 -> MemorySegment.copy(bytes, F32_LE, 0, out, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(bytes.getAtIndex(I16_LE, i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Numerics.bf16ToFloat(bytes.getAtIndex(I16_LE, i));
                }
            }
            case F8_E4M3 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Numerics.e4m3ToFloat(bytes.get(ValueLayout.JAVA_BYTE, i));
                }
            }
            case I8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bytes.get(ValueLayout.JAVA_BYTE, i);
                }
            }
            case U8 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bytes.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
                }
            }
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bytes.getAtIndex(I32_LE, i);
                }
            }
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    long v = bytes.getAtIndex(I64_LE, i);
                    if (v > EXACT_FLOAT_INT || v < -EXACT_FLOAT_INT) {
                        throw new TinyrtException(source + ": tensor " + SafetensorsFormatException.quote(info.name())
                                + " is I64 and element " + i + " = " + v + " is not exactly representable as fp32");
                    }
                    out[i] = v;
                }
            }
        }
        return out;
    }
}
