package dev.tinyrt.backend;

import dev.tinyrt.model.LlamaConfig;

/**
 * The operations a Llama forward pass needs, implemented once per device (CPU Vector API, CUDA). The model code
 * ({@link dev.tinyrt.model.LlamaModel}) is written only against this interface. All activations are row-major;
 * {@code matmul} multiplies by the transposed weight, as PyTorch's {@code Linear} does.
 */
public interface Backend extends AutoCloseable {
    String name();

    /** Takes ownership of (or wraps) a weight in this backend's storage format. */
    Weight weight(WeightData data);

    /** A weight whose rows are the given weights' rows one after another (e.g. fused q|k|v), without copying. */
    Weight concatRows(Weight... parts);

    Tensor tensor(int rows, int cols);

    KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize);

    /** out[i] = table[ids[i]]. */
    void embed(Weight table, int[] ids, Tensor out);

    /** out = rmsNorm(x) * gamma, row by row. */
    void rmsNorm(Tensor x, Weight gamma, float eps, Tensor out);

    /** residual += delta; out = rmsNorm(residual) * gamma (the two fused, as every block boundary needs). */
    void addRmsNorm(Tensor residual, Tensor delta, Weight gamma, float eps, Tensor out);

    /** residual += delta. */
    void add(Tensor residual, Tensor delta);

    /** out = x · wᵀ, {@code x [n, w.cols]}, {@code out [n, w.rows]}. */
    void matmul(Tensor x, Weight w, Tensor out);

    /**
     * For {@code qkv [n, (heads + 2 * kvHeads) * headDim]}: rotates q and k in place (NeoX RoPE) and writes k and
     * v into the cache slots of {@code layer} given by the batch's block tables.
     */
    void ropeAndStoreKv(Tensor qkv, KvCache cache, int layer, StepBatch batch, RopeTable rope);

    /** Causal attention of the q part of {@code qkv} over the cached keys/values; out {@code [n, heads*headDim]}. */
    void attention(Tensor qkv, KvCache cache, int layer, StepBatch batch, Tensor out);

    /** For {@code gateUp [n, 2 * I]} (gate then up): out = silu(gate) * up, {@code out [n, I]}. */
    void swiglu(Tensor gateUp, Tensor out);

    /** out[i] = x[rows[i]]. */
    void gatherRows(Tensor x, int[] rows, Tensor out);

    /** Copies the tensor to the host as {@code float[rows][cols]}. */
    float[][] toHost(Tensor x);

    @Override
    void close();
}
