package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.model.LlamaConfig;

/**
 * The CPU backend: fp32 arithmetic with the Vector API over weights kept in their stored precision, work split
 * over all cores. It is also the reference the faster paths are checked against.
 */
public final class CpuBackend implements Backend {
    private final Parallel parallel;

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        this.parallel = new Parallel(threads);
    }

    public int threads() {
        return parallel.threads();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Weight weight(WeightData data) {
        return switch (data) {
            case WeightData.Dense d -> new DenseWeight(d.dtype(), d.rows(), d.cols(), d.bytes(),
                    d.bytes().isMapped() ? 0 : d.bytes().byteSize());
        };
    }

    @Override
    public Weight concatRows(Weight... parts) {
        CpuWeight[] cpu = new CpuWeight[parts.length];
        for (int i = 0; i < parts.length; i++) {
            cpu[i] = (CpuWeight) parts[i];
        }
        return new StackedWeight(cpu);
    }

    @Override
    public Tensor tensor(int rows, int cols) {
        return new CpuTensor(rows, cols);
    }

    @Override
    public KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize) {
        return new CpuKvCache(config.numLayers(), config.kvDim(), config.headDim(), numBlocks, blockSize);
    }

    @Override
    public void embed(Weight table, int[] ids, Tensor out) {
        CpuWeight t = (CpuWeight) table;
        CpuTensor o = (CpuTensor) out;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= t.rows()) {
                throw new IllegalArgumentException("token id " + ids[i] + " outside the vocabulary [0, " + t.rows() + ")");
            }
            t.widenRows(ids[i], ids[i] + 1, o.data, o.offset(i));
        }
    }

    @Override
    public void rmsNorm(Tensor x, Weight gamma, float eps, Tensor out) {
        CpuTensor in = (CpuTensor) x;
        CpuTensor o = (CpuTensor) out;
        float[] g = gain(gamma);
        int n = in.cols();
        float[] tmp = new float[VectorMath.LANES];
        for (int r = 0; r < in.rows(); r++) {
            normalizeRow(in.data, in.offset(r), g, eps, o.data, o.offset(r), n, tmp);
        }
    }

    @Override
    public void addRmsNorm(Tensor residual, Tensor delta, Weight gamma, float eps, Tensor out) {
        add(residual, delta);
        rmsNorm(residual, gamma, eps, out);
    }

    private static void normalizeRow(float[] x, int xOff, float[] g, float eps, float[] out, int oOff, int n,
                                     float[] tmp) {
        float meanSquare = VectorMath.sumOfSquares(x, xOff, n, tmp) / n;
        float scale = (float) (1.0 / Math.sqrt(meanSquare + eps));
        for (int i = 0; i < n; i++) {
            out[oOff + i] = g[i] * (x[xOff + i] * scale);
        }
    }

    /** Norm gains are tiny: widen them once per call instead of keeping a second format around. */
    private static float[] gain(Weight gamma) {
        CpuWeight w = (CpuWeight) gamma;
        float[] g = new float[w.cols()];
        w.widenRows(0, 1, g, 0);
        return g;
    }

    @Override
    public void add(Tensor residual, Tensor delta) {
        CpuTensor r = (CpuTensor) residual;
        CpuTensor d = (CpuTensor) delta;
        int n = r.rows() * r.cols();
        for (int i = 0; i < n; i++) {
            r.data[i] += d.data[i];
        }
    }

    @Override
    public void matmul(Tensor x, Weight w, Tensor out) {
        CpuTensor in = (CpuTensor) x;
        CpuTensor o = (CpuTensor) out;
        CpuWeight m = (CpuWeight) w;
        int tokens = in.rows();
        int cols = m.cols();
        int outCols = o.cols();
        if (in.cols() != cols || outCols != m.rows() || o.rows() != tokens) {
            throw new IllegalArgumentException("matmul shapes: x " + tokens + "x" + in.cols() + ", w " + m.rows() + "x"
                    + cols + ", out " + o.rows() + "x" + outCols);
        }
        Matmul.multiply(m, in.data, tokens, o.data, parallel);
    }

    @Override
    public void ropeAndStoreKv(Tensor qkv, KvCache cache, int layer, StepBatch batch, RopeTable rope) {
        CpuTensor t = (CpuTensor) qkv;
        CpuKvCache c = (CpuKvCache) cache;
        int headDim = rope.headDim();
        int kvDim = c.kvDim;
        int qDim = t.cols() - 2 * kvDim;
        int half = headDim / 2;
        float[] cos = rope.cos();
        float[] sin = rope.sin();
        for (StepBatch.Chunk chunk : batch.sequences()) {
            for (int row = chunk.tokenStart(); row < chunk.tokenStart() + chunk.tokenCount(); row++) {
                int pos = batch.positions()[row];
                if (pos >= rope.maxPositions()) {
                    throw new IllegalArgumentException("position " + pos + " beyond the RoPE table");
                }
                int base = t.offset(row);
                // q heads and k heads are contiguous head_dim slices: rotate each (NeoX: pairs i, i + half)
                for (int h = 0; h < (qDim + kvDim) / headDim; h++) {
                    int off = base + h * headDim;
                    for (int i = 0; i < half; i++) {
                        float c0 = cos[pos * half + i];
                        float s0 = sin[pos * half + i];
                        float x1 = t.data[off + i];
                        float x2 = t.data[off + i + half];
                        t.data[off + i] = x1 * c0 - x2 * s0;
                        t.data[off + i + half] = x2 * c0 + x1 * s0;
                    }
                }
                int slot = batch.slot(chunk, row, c.blockSize());
                System.arraycopy(t.data, base + qDim, c.keys[layer], slot * kvDim, kvDim);
                System.arraycopy(t.data, base + qDim + kvDim, c.values[layer], slot * kvDim, kvDim);
            }
        }
    }

    @Override
    public void attention(Tensor qkv, KvCache cache, int layer, StepBatch batch, Tensor out) {
        CpuTensor t = (CpuTensor) qkv;
        CpuTensor o = (CpuTensor) out;
        CpuKvCache c = (CpuKvCache) cache;
        int headDim = c.headDim;
        int heads = o.cols() / headDim;
        int group = heads / (c.kvDim / headDim);
        int blockSize = c.blockSize();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] keys = c.keys[layer];
        float[] values = c.values[layer];
        StepBatch.Chunk[] chunkOfRow = new StepBatch.Chunk[t.rows()];
        for (StepBatch.Chunk chunk : batch.sequences()) {
            java.util.Arrays.fill(chunkOfRow, chunk.tokenStart(), chunk.tokenStart() + chunk.tokenCount(), chunk);
        }
        parallel.forRange(t.rows() * heads, 4, (from, to) -> {
            float[] scores = new float[0];
            float[] tmp = new float[VectorMath.LANES];
            for (int job = from; job < to; job++) {
                int row = job / heads;
                int h = job % heads;
                StepBatch.Chunk chunk = chunkOfRow[row];
                int span = batch.positions()[row] + 1;  // causal: positions 0..pos
                if (scores.length < span) {
                    scores = new float[Math.max(span, 2 * scores.length)];
                }
                int q = t.offset(row) + h * headDim;
                int kvOff = (h / group) * headDim;
                int[] table = chunk.blockTable();
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < span; j++) {
                    int slot = table[j / blockSize] * blockSize + j % blockSize;
                    float s = VectorMath.dot(t.data, q, keys, slot * c.kvDim + kvOff, headDim, tmp) * scale;
                    scores[j] = s;
                    max = Math.max(max, s);
                }
                float sum = 0;
                for (int j = 0; j < span; j++) {
                    float e = (float) Math.exp(scores[j] - max);
                    scores[j] = e;
                    sum += e;
                }
                int dst = o.offset(row) + h * headDim;
                java.util.Arrays.fill(o.data, dst, dst + headDim, 0f);
                float inv = 1f / sum;
                for (int j = 0; j < span; j++) {
                    int slot = table[j / blockSize] * blockSize + j % blockSize;
                    VectorMath.axpy(scores[j] * inv, values, slot * c.kvDim + kvOff, o.data, dst, headDim);
                }
            }
        });
    }

    @Override
    public void swiglu(Tensor gateUp, Tensor out) {
        CpuTensor gu = (CpuTensor) gateUp;
        CpuTensor o = (CpuTensor) out;
        int inner = o.cols();
        for (int r = 0; r < o.rows(); r++) {
            int g = gu.offset(r);
            int d = o.offset(r);
            for (int i = 0; i < inner; i++) {
                float gate = gu.data[g + i];
                float silu = gate / (1.0f + (float) Math.exp(-gate));
                o.data[d + i] = silu * gu.data[g + inner + i];
            }
        }
    }

    @Override
    public void gatherRows(Tensor x, int[] rows, Tensor out) {
        CpuTensor in = (CpuTensor) x;
        CpuTensor o = (CpuTensor) out;
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(in.data, in.offset(rows[i]), o.data, o.offset(i), in.cols());
        }
    }

    @Override
    public float[][] toHost(Tensor x) {
        CpuTensor in = (CpuTensor) x;
        float[][] result = new float[in.rows()][];
        for (int r = 0; r < in.rows(); r++) {
            result[r] = java.util.Arrays.copyOfRange(in.data, in.offset(r), in.offset(r) + in.cols());
        }
        return result;
    }

    @Override
    public void close() {
        parallel.close();
    }
}
