package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.quant.WeightDecoder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Re-packs the canonical quantized {@link WeightData} forms into the bytes the CUDA kernels read (qgemv.cuh):
 * int8 and int4 values turned offset-binary (every byte XOR 0x80, every nibble XOR 8; int4 nibbles also reordered
 * within each word, {@link #evenNibblesFirst}), W4A16 scales as fp16, FP8
 * bytes unchanged with the product of its two scales per row, W8A8 (SmoothQuant) as W8A16 with its pre-scale kept
 * for the activation quantization.
 * Shapes the kernels cannot read are dequantized to an fp16 matrix instead (pre-scale folded into the columns):
 * correct, but with the fp16 engine's speed and without quantized activations.
 */
final class WeightPacking {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Host bytes in the kernels' layout; {@code preScale} null when absent or all ones. */
    record Packed(CudaWeight.Format format, MemorySegment values, MemorySegment scales, float[] preScale,
                  int groupSize, float activationScale) {
    }

    private WeightPacking() {
    }

    /** Whether the quantized kernels read this weight as it is (else {@link #dequantized}). */
    static boolean kernelsApply(WeightData data) {
        return switch (data) {
            case WeightData.Int8PerChannel q -> q.cols() % 16 == 0;
            case WeightData.Int8W8A8 q -> q.cols() % 16 == 0;
            case WeightData.Int4PerGroup q -> q.cols() % 32 == 0 && q.groupSize() % 32 == 0;
            case WeightData.Fp8PerTensor f -> f.cols() % 16 == 0;
            default -> false;
        };
    }

    static Packed pack(WeightData data, Arena arena) {
        return switch (data) {
            case WeightData.Int8PerChannel q -> new Packed(CudaWeight.Format.W8A16,
                    xorBytes(q.weights(), (byte) 0x80, arena), arena.allocateFrom(ValueLayout.JAVA_FLOAT, q.scales()),
                    meaningful(q.preScale()), q.cols(), 0);
            case WeightData.Int8W8A8 q -> new Packed(CudaWeight.Format.W8A8,
                    xorBytes(q.weights(), (byte) 0x80, arena), arena.allocateFrom(ValueLayout.JAVA_FLOAT, q.scales()),
                    meaningful(q.preScale()), q.cols(), 0);
            case WeightData.Int4PerGroup q -> new Packed(CudaWeight.Format.W4A16,
                    evenNibblesFirst(xorBytes(q.packed(), (byte) 0x88, arena)), halves(q.scales(), arena),
                    meaningful(q.preScale()), q.groupSize(), 0);
            case WeightData.Fp8PerTensor f -> {  // bytes as they are; one scale per row: weight * activation scale
                float[] scales = new float[f.rows()];
                java.util.Arrays.fill(scales, f.weightScale() * f.activationScale());
                yield new Packed(CudaWeight.Format.FP8, xorBytes(f.weights(), (byte) 0, arena),
                        arena.allocateFrom(ValueLayout.JAVA_FLOAT, scales), null, f.cols(), f.activationScale());
            }
            default -> throw new IllegalArgumentException(data.name() + ": no quantized CUDA kernel reads "
                    + data.getClass().getSimpleName());
        };
    }

    /** The weight as fp16 values, the pre-scale folded into its columns (the fallback for other shapes). */
    static WeightData.Dense dequantized(WeightData data, Arena arena) {
        float[] w = WeightDecoder.effective(data);
        MemorySegment out = arena.allocate(2L * w.length, 16);
        for (int i = 0; i < w.length; i++) {
            out.setAtIndex(SHORT, i, Numerics.floatToF16(w[i]));
        }
        return new WeightData.Dense(data.name(), DType.F16, data.rows(), data.cols(), out);
    }

    /** A pre-scale of ones changes nothing: dropped, so the kernels skip the multiply. */
    static float[] meaningful(float[] preScale) {
        if (preScale == null) {
            return null;
        }
        for (float v : preScale) {
            if (v != 1f) {
                return preScale.clone();
            }
        }
        return null;
    }

    private static MemorySegment xorBytes(MemorySegment src, byte mask, Arena arena) {
        long n = src.byteSize();
        MemorySegment out = arena.allocate(n, 16);
        long wide = (mask & 0xffL) * 0x0101010101010101L;
        long i = 0;
        for (; i + 8 <= n; i += 8) {
            out.set(LONG, i, src.get(LONG, i) ^ wide);
        }
        for (; i < n; i++) {
            out.set(ValueLayout.JAVA_BYTE, i, (byte) (src.get(ValueLayout.JAVA_BYTE, i) ^ mask));
        }
        return out;
    }

    /**
     * Within every 32-bit word (eight columns c0..c7, c0 in the low nibble) the nibbles in the order c0 c2 c4 c6 c1
     * c3 c5 c7, in place: the kernels' mask of nibbles n and n + 4 then yields the fp16 pair (c2n, c2n+1), which is how
     * x's halves already lie (qgemv.cuh's QW4). Two delta swaps per word, on longs (two words at a time; the weight's
     * bytes are a whole number of words since cols % 32 == 0).
     */
    static MemorySegment evenNibblesFirst(MemorySegment words) {
        long n = words.byteSize();
        if (n % 8 != 0) {
            throw new IllegalArgumentException("int4 weight of " + n + " bytes is not a whole number of 8-byte pairs");
        }
        for (long i = 0; i + 8 <= n; i += 8) {
            long x = words.get(LONG, i);
            long t = (x ^ (x >>> 4)) & 0x00F000F000F000F0L;  // nibbles 1 <-> 2 and 5 <-> 6 of each word
            x ^= t ^ (t << 4);
            t = (x ^ (x >>> 8)) & 0x0000FF000000FF00L;       // then bytes 1 <-> 2
            x ^= t ^ (t << 8);
            words.set(LONG, i, x);
        }
        return words;
    }

    private static MemorySegment halves(float[] values, Arena arena) {
        MemorySegment out = arena.allocate(2L * values.length, 16);
        for (int i = 0; i < values.length; i++) {
            out.setAtIndex(SHORT, i, Numerics.floatToF16(values[i]));
        }
        return out;
    }
}
