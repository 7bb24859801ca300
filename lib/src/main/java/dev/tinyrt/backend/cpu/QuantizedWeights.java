package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.WeightData;

import java.lang.foreign.MemorySegment;

/**
 * The CPU weights of the quantized canonical forms, paged in and warmed up as {@link CpuBackend} does for dense
 * ones. W8A16, W4A16 and FP8 bytes are copied into the four-row interleaved layout of their decode kernels.
 */
final class QuantizedWeights {
    private QuantizedWeights() {
    }

    static CpuWeight create(WeightData data) {
        return switch (data) {
            case WeightData.Int8PerChannel q -> {
                Int8Weight w = new Int8Weight(q.rows(), q.cols(), q.weights(), q.scales(), q.preScale());
                yield warm(w, w.bytes(), q.weights());
            }
            case WeightData.Int4PerGroup q -> {
                Int4Weight w = new Int4Weight(q.rows(), q.cols(), q.groupSize(), q.packed(), q.scales(), q.preScale());
                yield warm(w, w.bytes(), q.packed());
            }
            case WeightData.Int8W8A8 q -> {
                // kept as a zero-copy view: its integer kernel has no FMA chain to hide, one row at a time suffices
                W8A8Weight w = new W8A8Weight(q.rows(), q.cols(), q.weights(), q.scales(), q.preScale());
                yield warm(w, w.bytes(), null);
            }
            case WeightData.Fp8PerTensor f -> {
                Fp8Weight w = new Fp8Weight(f.rows(), f.cols(), f.weights(), f.weightScale(), f.activationScale());
                yield warm(w, w.bytes(), f.weights());
            }
            case WeightData.Dense d -> throw new IllegalArgumentException(d.name() + " is dense, not quantized");
        };
    }

    /**
     * Pages in and warms up the weight's own bytes; {@code copiedFrom} (the source of a re-laid-out copy) is
     * released when it is a mapped file, as {@link CpuBackend} does for column-blocked dense weights.
     */
    private static CpuWeight warm(CpuWeight w, MemorySegment bytes, MemorySegment copiedFrom) {
        if (copiedFrom != null && copiedFrom.isMapped()) {
            copiedFrom.unload();
        }
        Warmup.weight(w, bytes);
        return w;
    }
}
