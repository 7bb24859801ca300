package dev.tinyrt.backend;

import dev.tinyrt.TinyrtException;
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

    /**
     * A buffer for values that need more precision than this backend's activations: the residual stream and the
     * logits (fp32 where activations are fp16). Where activations are fp32 already this is {@link #tensor}.
     */
    default Tensor wideTensor(int rows, int cols) {
        return tensor(rows, cols);
    }

    /** A cache in the backend's own unquantized element type ({@link KvCacheFormat#AUTO}). */
    KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize);

    /**
     * A cache storing keys and values as {@code format} says (int8/fp8 with per-layer scales, dequantized inside
     * {@link #attention}). A backend without that storage refuses it with a {@link TinyrtException}.
     */
    default KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize, KvCacheFormat format) {
        if (format.dtype() == KvCacheDtype.AUTO) {
            return kvCache(config, numBlocks, blockSize);
        }
        throw new TinyrtException("the " + name() + " backend cannot store the KV cache as " + format.dtype().label());
    }

    /**
     * The {@link KvCache#bytesPerToken} a cache of {@code format} for {@code config} would have, computed without
     * allocating one (a probe cache would take, and on CUDA keep, memory that sizing decisions then miss). The
     * default stores {@link KvCacheDtype#AUTO} as fp32, other dtypes at their own size.
     */
    default long kvBytesPerToken(LlamaConfig config, KvCacheFormat format) {
        KvCacheDtype stored = format.dtype() == KvCacheDtype.AUTO ? KvCacheDtype.FP32 : format.dtype();
        return KvCache.bytesPerToken(config.numLayers(), config.kvDim(), stored.bytes());
    }

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
     * v into the cache slots of {@code layer} given by the batch's block tables. A backend may instead do this
     * inside the {@link #attention} call that follows for the same qkv, cache and layer (the CUDA backend does for
     * decode steps); q and k in {@code qkv} are then left unrotated.
     */
    void ropeAndStoreKv(Tensor qkv, KvCache cache, int layer, StepBatch batch, RopeTable rope);

    /** Causal attention of the q part of {@code qkv} over the cached keys/values; out {@code [n, heads*headDim]}. */
    void attention(Tensor qkv, KvCache cache, int layer, StepBatch batch, Tensor out);

    /** For {@code gateUp [n, 2 * I]} (gate then up): out = silu(gate) * up, {@code out [n, I]}. */
    void swiglu(Tensor gateUp, Tensor out);

    /**
     * act = swiglu(x · gateUpᵀ) for the fused gate|up weight ({@code [2 * I, cols]}, gate rows first):
     * {@code gateUpOut [n, 2 * I]} is scratch that a backend fusing the activation into the product may leave
     * unwritten; {@code act [n, I]}.
     */
    default void matmulSwiglu(Tensor x, Weight gateUp, Tensor gateUpOut, Tensor act) {
        matmul(x, gateUp, gateUpOut);
        swiglu(gateUpOut, act);
    }

    /** out[i] = x[rows[i]]. */
    void gatherRows(Tensor x, int[] rows, Tensor out);

    /** Copies the tensor to the host as {@code float[rows][cols]}. */
    float[][] toHost(Tensor x);

    /**
     * The index of each row's largest value (the first on ties, as torch.argmax picks it): greedy sampling where
     * the logits are, so only token ids need to reach the host.
     */
    default int[] argmaxRows(Tensor logits) {
        float[][] rows = toHost(logits);
        int[] ids = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            float[] x = rows[r];
            int best = 0;
            for (int i = 1; i < x.length; i++) {
                if (x[i] > x[best]) {
                    best = i;
                }
            }
            ids[r] = best;
        }
        return ids;
    }

    /** Greedy ids on their way to the host: {@link #await} blocks until they are there (and may be called again). */
    @FunctionalInterface
    interface PendingIds {
        int[] await();
    }

    /**
     * {@link #argmaxRows} without waiting for the ids: a GPU queues the argmax and its copy, so the caller can queue
     * the next step (its tokens taken on the device: {@link #feedTokensFromLastArgmax}) before it reads them. The
     * default picks them now.
     */
    default PendingIds argmaxRowsAsync(Tensor logits) {
        int[] ids = argmaxRows(logits);
        return () -> ids;
    }

    /** Whether {@link #feedTokensFromLastArgmax} works: the next step's tokens can stay on the device. */
    default boolean feedsTokensOnDevice() {
        return false;
    }

    /**
     * The next {@link #runStep}'s {@code count} token ids are the ids of the last {@link #argmaxRowsAsync}, copied on
     * the device (its batch's token ids are ignored): the step can be queued before the host has read them. Only
     * where {@link #feedsTokensOnDevice()}.
     */
    default void feedTokensFromLastArgmax(int count) {
        throw new UnsupportedOperationException(name() + " backend cannot feed a step's tokens on its device");
    }

    /** Whether {@link #sampleRows} picks tokens where the logits are (so only ids reach the host). */
    default boolean samplesOnDevice() {
        return false;
    }

    /**
     * Picks one token per row of {@code logits} with that row's parameters, on the device; may overwrite the logits
     * (the repetition penalty is applied in place). Only where {@link #samplesOnDevice()}.
     */
    default SampledTokens sampleRows(Tensor logits, SamplingRow[] rows) {
        throw new UnsupportedOperationException(name() + " backend does not sample on its device");
    }

    /**
     * Runs the device work of one forward step. {@code work} issues the step's operations on {@code batch} and
     * {@code cache}; {@code buffers} identifies the tensors it uses (equal objects: the same tensors). A backend
     * may record the work once and replay the recording for later steps with equal {@code buffers}, the same cache
     * and the same shape, only the batch's contents (token ids, positions, block tables) changed. So the work must
     * issue the same operations whenever those are equal, and must not read anything back to the host. The
     * default simply runs it.
     */
    default void runStep(StepBatch batch, KvCache cache, Object buffers, Runnable work) {
        work.run();
    }

    /**
     * Frees memory the backend keeps for reuse but no live object holds (a KV storage kept for the next cache), so
     * a measurement that follows sees what the next allocation really takes. The default holds nothing back.
     */
    default void releaseIdleMemory() {
    }

    @Override
    void close();
}
