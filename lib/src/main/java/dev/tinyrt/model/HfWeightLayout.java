package dev.tinyrt.model;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.io.TensorSource;

import java.util.Arrays;
import java.util.List;

/** Tensor names and shapes of a HuggingFace LlamaForCausalLM checkpoint ({@code model.layers.N.self_attn...}). */
public final class HfWeightLayout implements WeightLayout {
    private final TensorSource source;
    private final LlamaConfig config;

    public HfWeightLayout(TensorSource source, LlamaConfig config) {
        this.source = source;
        this.config = config;
    }

    @Override
    public WeightData embedding() {
        return dense("model.embed_tokens.weight", config.vocabSize(), config.hiddenSize());
    }

    @Override
    public WeightData lmHead() {
        if (config.tieWordEmbeddings()) {
            return null;
        }
        return dense("lm_head.weight", config.vocabSize(), config.hiddenSize());
    }

    @Override
    public WeightData finalNorm() {
        return dense("model.norm.weight", 1, config.hiddenSize());
    }

    @Override
    public WeightData inputNorm(int layer) {
        return dense(layer(layer) + "input_layernorm.weight", 1, config.hiddenSize());
    }

    @Override
    public WeightData postAttentionNorm(int layer) {
        return dense(layer(layer) + "post_attention_layernorm.weight", 1, config.hiddenSize());
    }

    @Override
    public List<WeightData> qkv(int layer) {
        String p = layer(layer) + "self_attn.";
        int h = config.hiddenSize();
        return List.of(dense(p + "q_proj.weight", config.qDim(), h), dense(p + "k_proj.weight", config.kvDim(), h),
                dense(p + "v_proj.weight", config.kvDim(), h));
    }

    @Override
    public WeightData attentionOut(int layer) {
        return dense(layer(layer) + "self_attn.o_proj.weight", config.hiddenSize(), config.qDim());
    }

    @Override
    public List<WeightData> gateUp(int layer) {
        String p = layer(layer) + "mlp.";
        int h = config.hiddenSize();
        int i = config.intermediateSize();
        return List.of(dense(p + "gate_proj.weight", i, h), dense(p + "up_proj.weight", i, h));
    }

    @Override
    public WeightData down(int layer) {
        return dense(layer(layer) + "mlp.down_proj.weight", config.hiddenSize(), config.intermediateSize());
    }

    private static String layer(int l) {
        return "model.layers." + l + ".";
    }

    /** Looks a tensor up and checks it has the shape the config implies (1-row matrices are 1-D tensors). */
    WeightData dense(String name, int rows, int cols) {
        return denseTensor(source, name, rows, cols);
    }

    static WeightData.Dense denseTensor(TensorSource source, String name, int rows, int cols) {
        if (!source.contains(name)) {
            throw new TinyrtException(source.path() + ": missing tensor " + name);
        }
        TensorInfo info = source.info(name);
        long[] expected = rows == 1 ? new long[]{cols} : new long[]{rows, cols};
        if (!Arrays.equals(info.shape(), expected)) {
            throw new TinyrtException(source.path() + ": tensor " + name + " has shape " + Arrays.toString(info.shape())
                    + " but the config implies " + Arrays.toString(expected));
        }
        DType t = info.dtype();
        if (t != DType.F32 && t != DType.F16 && t != DType.BF16) {
            throw new TinyrtException(source.path() + ": tensor " + name + " has dtype " + t
                    + "; unquantized weights must be F32, F16 or BF16");
        }
        return new WeightData.Dense(name, t, rows, cols, source.data(name));
    }
}
