package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.WeightData;

import java.lang.foreign.MemorySegment;

/** The CPU weights of the quantized canonical forms, paged in and warmed up as {@link CpuBackend} does for dense ones. */
final class QuantizedWeights {
    private QuantizedWeights() {
    }

    static CpuWeight create(WeightData data) {
        return switch (data) {
            case WeightData.Int8PerChannel q -> warm(new Int8Weight(q.rows(), q.cols(), q.weights(), q.scales(),
                    q.preScale()), q.weights());
            case WeightData.Int4PerGroup q -> {
                Int4Weight w = new Int4Weight(q.rows(), q.cols(), q.groupSize(), q.packed(), q.scales(), q.preScale());
                yield warm(w, w.bytes());
            }
            case WeightData.Int8W8A8 q -> warm(new W8A8Weight(q.rows(), q.cols(), q.weights(), q.scales(),
                    q.preScale()), q.weights());
            case WeightData.Fp8PerTensor f -> warm(new Fp8Weight(f.rows(), f.cols(), f.weights(), f.weightScale(),
                    f.activationScale()), f.weights());
            case WeightData.Dense d -> throw new IllegalArgumentException(d.name() + " is dense, not quantized");
        };
    }

    private static CpuWeight warm(CpuWeight w, MemorySegment bytes) {
        Warmup.weight(w, bytes);
        return w;
    }
}
