package dev.tinyrt.model;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * The precision weights are kept in while the engine runs (arithmetic is fp32 on the CPU either way).
 * {@code AUTO} keeps what the checkpoint stores, without a copy.
 */
public enum StoragePrecision {
    AUTO(null), FP32(DType.F32), FP16(DType.F16), BF16(DType.BF16);

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;

    StoragePrecision(DType dtype) {
        this.dtype = dtype;
    }

    public static StoragePrecision parse(String text) {
        for (StoragePrecision p : values()) {
            if (p.name().equalsIgnoreCase(text)) {
                return p;
            }
        }
        throw new TinyrtException("unknown precision \"" + text + "\"; this engine supports auto, fp32, fp16, bf16");
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The weight in this precision: the same data when it already is, else a converted copy owned by arena. */
    public WeightData apply(WeightData data, Arena arena) {
        if (dtype == null || !(data instanceof WeightData.Dense d) || d.dtype() == dtype) {
            return data;
        }
        long n = (long) d.rows() * d.cols();
        MemorySegment out = arena.allocate(n * dtype.byteSize(), 64);
        for (long i = 0; i < n; i++) {
            float v = read(d, i);
            switch (dtype) {
                case F32 -> out.setAtIndex(F32, i, v);
                case F16 -> out.setAtIndex(I16, i, Numerics.floatToF16(v));
                default -> out.setAtIndex(I16, i, Numerics.floatToBf16(v));
            }
        }
        return new WeightData.Dense(d.name(), dtype, d.rows(), d.cols(), out);
    }

    private static float read(WeightData.Dense d, long i) {
        return switch (d.dtype()) {
            case F32 -> d.bytes().getAtIndex(F32, i);
            case F16 -> Numerics.f16ToFloat(d.bytes().getAtIndex(I16, i));
            case BF16 -> Numerics.bf16ToFloat(d.bytes().getAtIndex(I16, i));
            default -> throw new IllegalArgumentException("not a float dtype: " + d.dtype());
        };
    }
}
