package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.model.LlamaConfig;

import java.util.List;

/**
 * Test backend: the CPU backend with every quantized matmul replaced by {@link QuantizedReference}'s scalar
 * emulation. A model run on it differs from one on {@link CpuBackend} only in how the quantized products are
 * computed, so the two must give the same logits bit for bit.
 */
final class ReferenceQuantBackend implements Backend {
    private final CpuBackend cpu;

    /** A quantized weight (or a stack of them) kept in its canonical form, values decoded once. */
    private record Reference(List<WeightData> parts, List<float[]> values, int rows, int cols) implements Weight {
        @Override
        public long ownedBytes() {
            return 0;
        }

        @Override
        public String format() {
            return "reference";
        }
    }

    ReferenceQuantBackend(int threads) {
        this.cpu = new CpuBackend(threads);
    }

    @Override
    public String name() {
        return "cpu-reference-quant";
    }

    @Override
    public Weight weight(WeightData data) {
        if (data instanceof WeightData.Dense) {
            return cpu.weight(data);
        }
        return new Reference(List.of(data), List.of(QuantizedReference.weightValues(data)), data.rows(), data.cols());
    }

    @Override
    public Weight concatRows(Weight... parts) {
        if (!(parts[0] instanceof Reference)) {
            return cpu.concatRows(parts);
        }
        List<WeightData> data = new java.util.ArrayList<>();
        List<float[]> values = new java.util.ArrayList<>();
        int rows = 0;
        for (Weight p : parts) {
            Reference r = (Reference) p;
            data.addAll(r.parts());
            values.addAll(r.values());
            rows += r.rows();
        }
        return new Reference(data, values, rows, parts[0].cols());
    }

    @Override
    public void matmul(Tensor x, Weight w, Tensor out) {
        if (!(w instanceof Reference ref)) {
            cpu.matmul(x, w, out);
            return;
        }
        CpuTensor in = (CpuTensor) x;
        CpuTensor o = (CpuTensor) out;
        int tokens = in.rows();
        float[] rows = java.util.Arrays.copyOf(in.data, tokens * in.cols());
        int first = 0;
        for (int p = 0; p < ref.parts().size(); p++) {
            WeightData part = ref.parts().get(p);
            float[] partOut = QuantizedReference.matmul(part, ref.values().get(p), rows, tokens);
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(partOut, t * part.rows(), o.data, o.offset(t) + first, part.rows());
            }
            first += part.rows();
        }
    }

    @Override
    public Tensor tensor(int rows, int cols) {
        return cpu.tensor(rows, cols);
    }

    @Override
    public KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize) {
        return cpu.kvCache(config, numBlocks, blockSize);
    }

    @Override
    public void embed(Weight table, int[] ids, Tensor out) {
        cpu.embed(table, ids, out);
    }

    @Override
    public void rmsNorm(Tensor x, Weight gamma, float eps, Tensor out) {
        cpu.rmsNorm(x, gamma, eps, out);
    }

    @Override
    public void addRmsNorm(Tensor residual, Tensor delta, Weight gamma, float eps, Tensor out) {
        cpu.addRmsNorm(residual, delta, gamma, eps, out);
    }

    @Override
    public void add(Tensor residual, Tensor delta) {
        cpu.add(residual, delta);
    }

    @Override
    public void ropeAndStoreKv(Tensor qkv, KvCache cache, int layer, StepBatch batch, RopeTable rope) {
        cpu.ropeAndStoreKv(qkv, cache, layer, batch, rope);
    }

    @Override
    public void attention(Tensor qkv, KvCache cache, int layer, StepBatch batch, Tensor out) {
        cpu.attention(qkv, cache, layer, batch, out);
    }

    @Override
    public void swiglu(Tensor gateUp, Tensor out) {
        cpu.swiglu(gateUp, out);
    }

    @Override
    public void gatherRows(Tensor x, int[] rows, Tensor out) {
        cpu.gatherRows(x, rows, out);
    }

    @Override
    public float[][] toHost(Tensor x) {
        return cpu.toHost(x);
    }

    @Override
    public void close() {
        cpu.close();
    }
}
