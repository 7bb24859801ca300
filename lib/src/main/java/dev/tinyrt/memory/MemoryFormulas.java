package dev.tinyrt.memory;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.model.LlamaConfig;

/**
 * Memory a Llama model needs, computed from its shape alone: weights per precision (in the engine's canonical
 * weight forms, {@link dev.tinyrt.backend.WeightData}), KV-cache bytes per token and the activation workspace of
 * one forward step. {@link MemoryBreakdown} checks every figure against what the engine actually allocates.
 */
public final class MemoryFormulas {
    private MemoryFormulas() {
    }

    /** Keys and values of one token over all layers: 2 × layers × kv_heads × head_dim × element size. */
    public static long kvBytesPerToken(LlamaConfig c, KvDtype dtype) {
        return KvCache.bytesPerToken(c.numLayers(), c.kvDim(), dtype.bytes());
    }

    /** Whole KV tokens that fit in {@code budgetBytes}. */
    public static long kvTokens(long budgetBytes, long bytesPerToken) {
        return budgetBytes / bytesPerToken;
    }

    /** Bytes of the element type a float checkpoint declares (fp32 when it declares none). */
    static int checkpointElementBytes(LlamaConfig c) {
        String d = c.torchDtype();
        return d == null || d.equals("float32") ? 4 : 2;
    }

    /**
     * Weight bytes as the engine holds them. Float precisions: every parameter at that size (tied embeddings once).
     * Quantized ones, as TensorRT-LLM checkpoints read back into canonical forms: the embedding, the norms and an
     * untied lm_head stay fp16 (excluded modules); each linear layer of {@code [rows=out, cols=in]} costs
     * <pre>
     * int8 (W8A16)        rows·cols + 4·rows              (fp32 scale per output row)
     * int4 / int4_awq     rows·cols/2 + 4·rows·cols/g + 4·cols   (scale per group, pre-quant scale per input)
     * w8a8_sq             rows·cols + 4·rows + 4·cols     (scale per row, smoothing scale per input)
     * fp8                 rows·cols + 8                   (weight and activation scales)
     * </pre>
     */
    public static long weightBytes(LlamaConfig c, WeightPrecision p) {
        if (!p.quantized()) {
            int size = switch (p) {
                case AUTO -> checkpointElementBytes(c);
                case FP32 -> 4;
                default -> 2;
            };
            return c.parameterCount() * size;
        }
        long h = c.hiddenSize();
        long dense = c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2) + (2L * c.numLayers() + 1) * h;
        long linear = 0;
        for (long[] shape : linearShapes(c)) {
            linear += linearBytes(shape[0], shape[1], p);
        }
        return 2 * dense + c.numLayers() * linear;
    }

    /** {@code [rows, cols]} of each linear layer of one decoder layer: qkv, o_proj, gate, up, down. */
    static long[][] linearShapes(LlamaConfig c) {
        long h = c.hiddenSize();
        long i = c.intermediateSize();
        return new long[][]{{c.qDim() + 2L * c.kvDim(), h}, {h, c.qDim()}, {i, h}, {i, h}, {h, i}};
    }

    static long linearBytes(long rows, long cols, WeightPrecision p) {
        return switch (p.algo()) {
            case W8A16 -> rows * cols + 4 * rows;
            case W4A16, W4A16_AWQ -> rows * cols / 2 + 4 * rows * (cols / p.groupSize()) + 4 * cols;
            case W8A8_SQ_PER_CHANNEL -> rows * cols + 4 * rows + 4 * cols;
            case FP8 -> rows * cols + 8;
            case NONE -> throw new IllegalArgumentException("not a quantized precision: " + p);
        };
    }

    /**
     * The fp32 activation workspace of a step of {@code tokens} tokens that wants {@code logitRows} logit rows, as
     * {@link dev.tinyrt.model.LlamaModel} sizes it: per token hidden, normed and projection rows (3·hidden), q|k|v,
     * the attention output, gate|up and the SwiGLU output; per logit row the gathered hidden row and the logits.
     */
    public static long activationBytes(LlamaConfig c, int tokens, int logitRows) {
        return activationBytes(c, tokens, logitRows, ActivationBytes.FP32);
    }

    /** The same workspace with the backend's element sizes (hidden rows and logits are its wide buffers). */
    public static long activationBytes(LlamaConfig c, int tokens, int logitRows, ActivationBytes e) {
        long sum = 0;
        for (long a : activationArrays(c, tokens, logitRows, e)) {
            sum += a;
        }
        return sum;
    }

    /** The buffers of {@link #activationBytes}, one entry per buffer, in bytes. */
    public static long[] activationArrays(LlamaConfig c, int tokens, int logitRows, ActivationBytes e) {
        long t = tokens;
        long h = c.hiddenSize();
        long n = e.narrow();
        return new long[]{e.wide() * t * h, n * t * h, n * t * (c.qDim() + 2L * c.kvDim()), n * t * c.qDim(),
                n * t * h, n * t * 2 * c.intermediateSize(), n * t * c.intermediateSize(),
                n * logitRows * h, (long) e.wide() * logitRows * c.vocabSize()};
    }

    /** A KV pool kept as one keys and one values array per layer (the CPU backend's layout), in bytes each. */
    public static long[] kvArraysPerLayer(LlamaConfig c, long tokens, KvDtype dtype) {
        long[] arrays = new long[2 * c.numLayers()];
        java.util.Arrays.fill(arrays, tokens * c.kvDim() * dtype.bytes());
        return arrays;
    }
}
