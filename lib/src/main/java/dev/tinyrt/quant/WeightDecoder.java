package dev.tinyrt.quant;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.Numerics;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reference decoding of the engine's canonical weight forms ({@link WeightData}) back to fp32 values, for tests,
 * error measurements and dequantized exports. Deliberately plain: it is not an inference kernel.
 */
public final class WeightDecoder {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private WeightDecoder() {
    }

    /** The stored weight values {@code [rows, cols]} row-major, dequantized, without any preScale. */
    public static float[] values(WeightData data) {
        int rows = data.rows();
        int cols = data.cols();
        float[] out = new float[rows * cols];
        switch (data) {
            case WeightData.Dense d -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = switch (d.dtype()) {
                        case F32 -> d.bytes().getAtIndex(F32, i);
                        case F16 -> Numerics.f16ToFloat(d.bytes().getAtIndex(I16, i));
                        case BF16 -> Numerics.bf16ToFloat(d.bytes().getAtIndex(I16, i));
                        default -> throw new IllegalArgumentException("dense dtype " + d.dtype());
                    };
                }
            }
            case WeightData.Int8PerChannel q -> int8Rows(q.weights(), q.scales(), rows, cols, out);
            case WeightData.Int8W8A8 q -> int8Rows(q.weights(), q.scales(), rows, cols, out);
            case WeightData.Int4PerGroup q -> {
                int groups = cols / q.groupSize();
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        out[r * cols + c] = int4(q.packed(), (long) r * cols + c)
                                * q.scales()[r * groups + c / q.groupSize()];
                    }
                }
            }
            case WeightData.Fp8PerTensor f -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = Numerics.e4m3ToFloat(f.weights().get(ValueLayout.JAVA_BYTE, i)) * f.weightScale();
                }
            }
        }
        return out;
    }

    /**
     * The weight a layer effectively multiplies its (unquantized) input by: {@link #values} with the preScale
     * folded into the columns. Activation quantization of W8A8 and FP8 is not part of it.
     */
    public static float[] effective(WeightData data) {
        float[] w = values(data);
        float[] pre = preScale(data);
        if (pre != null) {
            int cols = data.cols();
            for (int i = 0; i < w.length; i++) {
                w[i] *= pre[i % cols];
            }
        }
        return w;
    }

    public static float[] preScale(WeightData data) {
        return switch (data) {
            case WeightData.Int8PerChannel q -> q.preScale();
            case WeightData.Int4PerGroup q -> q.preScale();
            case WeightData.Int8W8A8 q -> q.preScale();
            default -> null;
        };
    }

    /** Signed 4-bit value at logical index {@code i} of a buffer packed two per byte, low nibble first. */
    public static int int4(MemorySegment packed, long i) {
        int b = packed.get(ValueLayout.JAVA_BYTE, i >>> 1);
        int nibble = (i & 1) == 0 ? b & 0x0F : (b >> 4) & 0x0F;
        return (nibble ^ 8) - 8;
    }

    private static void int8Rows(MemorySegment q, float[] scales, int rows, int cols, float[] out) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = q.get(ValueLayout.JAVA_BYTE, (long) r * cols + c) * scales[r];
            }
        }
    }
}
