package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.model.LlamaConfig;

import java.lang.foreign.MemorySegment;

/**
 * The CPU backend: fp32 arithmetic with the Vector API over weights kept in their stored precision, work split
 * over all cores. It is also the reference the faster paths are checked against.
 */
public final class CpuBackend implements Backend {
    /** Elements per swiglu job (a multiple of the vector width, so only a row's last piece is masked). */
    private static final int SWIGLU_GRAIN = 1024;
    private final Parallel parallel;
    private volatile boolean f16QuantizerInputs;

    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        this.parallel = new Parallel(threads);
    }

    public int threads() {
        return parallel.threads();
    }

    /**
     * Whether the activations that FP8 and SmoothQuant weights quantize are first rounded to fp16, as the CUDA engine
     * holds them (off by default). A quantizer's rounding decisions flip under such tiny changes and the flips
     * compound over the layers, so how far this alone moves the logits is the yardstick for comparing the engines
     * on those formats (CudaSpeed's cpu_check).
     */
    public void roundQuantizerInputsToF16(boolean on) {
        f16QuantizerInputs = on;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Weight weight(WeightData data) {
        return switch (data) {
            case WeightData.Dense d -> dense(DenseFormat.of(d.dtype()), d.rows(), d.cols(), d.bytes());
            default -> QuantizedWeights.create(data);
        };
    }

    /**
     * A zero-copy view, except for rows wider than {@link ColumnBlockedWeight#BLOCK_COLS}: those are copied into
     * column blocks (decode reads them at full bandwidth) and the mapped pages they came from are released.
     */
    private static CpuWeight dense(DenseFormat format, int rows, int cols, MemorySegment bytes) {
        if (rows > 1 && cols > ColumnBlockedWeight.BLOCK_COLS) {
            ColumnBlockedWeight w = new ColumnBlockedWeight(format, rows, cols, bytes, ColumnBlockedWeight.BLOCK_COLS);
            if (bytes.isMapped()) {
                bytes.unload();
            }
            Warmup.weight(w, w.data());
            return w;
        }
        DenseWeight w = new DenseWeight(format, rows, cols, bytes, bytes.isMapped() ? 0 : bytes.byteSize());
        Warmup.weight(w, bytes);
        return w;
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

    /** fp32 (AUTO), fp16, int8 or fp8 keys and values; see {@link KvArray}. */
    @Override
    public KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize, KvCacheFormat format) {
        return new CpuKvCache(config.numLayers(), config.kvDim(), config.headDim(), numBlocks, blockSize, format);
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
        Matmul.multiply(m, in.data, tokens, o.data, parallel, f16QuantizerInputs);
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
                c.store(layer, batch.slot(chunk, row, c.blockSize()), t.data, base + qDim, base + qDim + kvDim);
            }
        }
    }

    @Override
    public void attention(Tensor qkv, KvCache cache, int layer, StepBatch batch, Tensor out) {
        Attention.run((CpuTensor) qkv, (CpuKvCache) cache, layer, batch, (CpuTensor) out, parallel);
    }

    @Override
    public void swiglu(Tensor gateUp, Tensor out) {
        CpuTensor gu = (CpuTensor) gateUp;
        CpuTensor o = (CpuTensor) out;
        int inner = o.cols();
        int rows = o.rows();
        // element-wise: rows are cut into pieces so that even a single decode row uses every core
        int pieces = (inner + SWIGLU_GRAIN - 1) / SWIGLU_GRAIN;
        parallel.forRange(rows * pieces, 1, (from, to) -> {
            for (int job = from; job < to; job++) {
                int r = job / pieces;
                int start = (job % pieces) * SWIGLU_GRAIN;
                int n = Math.min(SWIGLU_GRAIN, inner - start);
                VectorMath.swiglu(gu.data, gu.offset(r) + start, gu.data, gu.offset(r) + inner + start, o.data,
                        o.offset(r) + start, n);
            }
        });
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
