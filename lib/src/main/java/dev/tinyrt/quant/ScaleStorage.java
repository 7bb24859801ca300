package dev.tinyrt.quant;

import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;

/**
 * Scales are stored in a checkpoint dtype (fp16 per-channel scales, fp32 activation scales, ...). Quantizers round
 * each scale to its storage dtype first and quantize with the rounded value, so the stored scale and the stored
 * integers always agree exactly.
 */
public final class ScaleStorage {
    private ScaleStorage() {
    }

    /** {@code v} after a round trip through {@code dtype} (F32, F16 or BF16). */
    public static float roundTo(DType dtype, float v) {
        return switch (dtype) {
            case F32 -> v;
            case F16 -> Numerics.f16ToFloat(Numerics.floatToF16(v));
            case BF16 -> Numerics.bf16ToFloat(Numerics.floatToBf16(v));
            default -> throw new IllegalArgumentException("scales are stored as F32, F16 or BF16, not " + dtype);
        };
    }

    /** A usable scale: {@code amax / divisor} in storage precision, or 1 where that is zero (ModelOpt's rule). */
    public static float scaleFor(float amax, float divisor, DType dtype) {
        float s = roundTo(dtype, amax / divisor);
        return s > 0 && Float.isFinite(s) ? s : 1f;
    }
}
