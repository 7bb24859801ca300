package dev.tinyrt.model;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.backend.cpu.CpuBackend;

/** The CPU backend behind a subclassable front: tests override what they watch; {@link #op} sees every device op. */
public class DelegatingBackend implements Backend {
    protected final CpuBackend cpu = new CpuBackend(1);

    /** Called before every op of a forward pass. */
    protected void op() {
    }

    @Override public String name() { return "delegating"; }
    @Override public Weight weight(WeightData data) { return cpu.weight(data); }
    @Override public Weight concatRows(Weight... parts) { return cpu.concatRows(parts); }
    @Override public Tensor tensor(int rows, int cols) { return cpu.tensor(rows, cols); }
    @Override public KvCache kvCache(LlamaConfig c, int blocks, int size) { return cpu.kvCache(c, blocks, size); }
    @Override public void embed(Weight t, int[] ids, Tensor out) { op(); cpu.embed(t, ids, out); }
    @Override public void rmsNorm(Tensor x, Weight g, float eps, Tensor out) { op(); cpu.rmsNorm(x, g, eps, out); }
    @Override public void addRmsNorm(Tensor r, Tensor d, Weight g, float eps, Tensor out) {
        op();
        cpu.addRmsNorm(r, d, g, eps, out);
    }
    @Override public void add(Tensor r, Tensor d) { op(); cpu.add(r, d); }
    @Override public void matmul(Tensor x, Weight w, Tensor out) { op(); cpu.matmul(x, w, out); }
    @Override public void ropeAndStoreKv(Tensor qkv, KvCache c, int l, StepBatch b, RopeTable rope) {
        op();
        cpu.ropeAndStoreKv(qkv, c, l, b, rope);
    }
    @Override public void attention(Tensor qkv, KvCache c, int l, StepBatch b, Tensor out) {
        op();
        cpu.attention(qkv, c, l, b, out);
    }
    @Override public void swiglu(Tensor gu, Tensor out) { op(); cpu.swiglu(gu, out); }
    @Override public void gatherRows(Tensor x, int[] rows, Tensor out) { op(); cpu.gatherRows(x, rows, out); }
    @Override public float[][] toHost(Tensor x) { return cpu.toHost(x); }
    @Override public void close() { cpu.close(); }
}
