package dev.tinyrt.checkpoint;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.quant.IntQuantizer;
import dev.tinyrt.quant.IntScheme;
import dev.tinyrt.quant.QuantAlgo;
import dev.tinyrt.quant.QuantizedInts;
import dev.tinyrt.quant.WeightDecoder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a TensorRT-LLM checkpoint ({@code rank0.safetensors} + {@link TrtllmConfig}) into the engine's canonical
 * {@link WeightData} forms: fused q|k|v comes back as one matrix, {@code gateUp} as [mlp.fc (gate_proj),
 * mlp.gate (up_proj)]. Layouts TensorRT-LLM stores differently are rearranged into fresh native memory (kept alive
 * by the returned segments); everything already canonical is a zero-copy slice of the mapped file.
 * <pre>
 * quant_algo            canonical form
 * null                  Dense (checkpoint dtype)
 * W8A16                 Int8PerChannel      (weight [in, out] transposed back)
 * W4A16                 Int4PerGroup, group = in (int4 [in, out/2] unpacked and repacked along rows)
 * W4A16_AWQ             Int4PerGroup + preScale (int4 [out/2, in] repacked along rows)
 * W8A8_SQ_PER_CHANNEL   Int8W8A8 + preScale
 * FP8                   Fp8PerTensor
 * </pre>
 * W8A16/W4A16 weights stored as floats (trtllm-build quantizes those itself) are quantized here the same way.
 * Modules in exclude_modules (lm_head, the embedding) are Dense.
 */
public final class TrtllmWeightLayout implements WeightLayout {
    private final TensorSource source;
    private final TrtllmConfig config;
    private final LlamaConfig model;

    public TrtllmWeightLayout(TensorSource source, TrtllmConfig config) {
        this.source = source;
        this.config = config;
        this.model = config.model();
    }

    public TrtllmConfig config() {
        return config;
    }

    @Override
    public WeightData embedding() {
        return dense(TrtllmNames.EMBEDDING, model.vocabSize(), model.hiddenSize());
    }

    /** {@code null} when tied: TensorRT-LLM writes a copy of the embedding, the engine needs only one. */
    @Override
    public WeightData lmHead() {
        if (!source.contains(TrtllmNames.LM_HEAD) || (model.tieWordEmbeddings()
                && config.quantization().excludes(TrtllmNames.LM_HEAD_MODULE))) {
            return null;
        }
        return dense(TrtllmNames.LM_HEAD, model.vocabSize(), model.hiddenSize());
    }

    @Override
    public WeightData finalNorm() {
        return dense(TrtllmNames.FINAL_NORM, 1, model.hiddenSize());
    }

    @Override
    public WeightData inputNorm(int layer) {
        return dense(TrtllmNames.inputNorm(layer), 1, model.hiddenSize());
    }

    @Override
    public WeightData postAttentionNorm(int layer) {
        return dense(TrtllmNames.postNorm(layer), 1, model.hiddenSize());
    }

    @Override
    public List<WeightData> qkv(int layer) {
        return List.of(linear(TrtllmNames.qkv(layer), model.qDim() + 2 * model.kvDim(), model.hiddenSize()));
    }

    @Override
    public WeightData attentionOut(int layer) {
        return linear(TrtllmNames.dense(layer), model.hiddenSize(), model.qDim());
    }

    @Override
    public List<WeightData> gateUp(int layer) {
        int i = model.intermediateSize();
        int h = model.hiddenSize();
        return List.of(linear(TrtllmNames.fc(layer), i, h), linear(TrtllmNames.gate(layer), i, h));
    }

    @Override
    public WeightData down(int layer) {
        return linear(TrtllmNames.proj(layer), model.hiddenSize(), model.intermediateSize());
    }

    /** The calibrated KV-cache scale of a layer, or {@code null} when the KV cache is not quantized. */
    public Float kvCacheScale(int layer) {
        String name = TrtllmNames.kvCacheScale(layer);
        return source.contains(name) ? source.toFloats(name)[0] : null;
    }

    private WeightData linear(String module, int rows, int cols) {
        String name = module + ".weight";
        return switch (config.quantization().algo()) {
            case NONE -> dense(name, rows, cols);
            case W8A16 -> {
                if (isFloat(name)) {
                    yield fromFloats(name, rows, cols, IntScheme.TRTLLM_INT8);
                }
                byte[] t = int8(name, cols, rows);
                yield new WeightData.Int8PerChannel(module, rows, cols, segment(Int4Packing.transpose(t, cols, rows)),
                        scales(module + ".per_channel_scale", rows), null);
            }
            case W4A16 -> {
                if (isFloat(name)) {
                    yield fromFloats(name, rows, cols, IntScheme.TRTLLM_INT4);
                }
                byte[] v = Int4Packing.unpackTransposed(int8(name, cols, rows / 2), rows, cols);
                yield new WeightData.Int4PerGroup(module, rows, cols, cols, segment(Int4Packing.packCanonical(v, rows,
                        cols)), scales(module + ".per_channel_scale", rows), null);
            }
            case W4A16_AWQ -> {
                int g = config.quantization().groupSize();
                if (cols % g != 0) {
                    throw new TinyrtException(source.path() + ": group_size " + g + " does not divide " + module
                            + "'s input width " + cols);
                }
                byte[] v = Int4Packing.unpackRowPairs(int8(name, rows / 2, cols), rows, cols);
                String pre = module + ".prequant_scaling_factor";
                yield new WeightData.Int4PerGroup(module, rows, cols, g, segment(Int4Packing.packCanonical(v, rows, cols)),
                        scales(module + ".weights_scaling_factor", rows * (cols / g)),
                        source.contains(pre) ? scales(pre, cols) : null);
            }
            case W8A8_SQ_PER_CHANNEL -> new WeightData.Int8W8A8(module, rows, cols, raw(name, DType.I8, rows, cols),
                    scales(module + ".weights_scaling_factor", rows), scales(module + ".prequant_scaling_factor", cols));
            case FP8 -> new WeightData.Fp8PerTensor(module, rows, cols, raw(name, DType.F8_E4M3, rows, cols),
                    scales(module + ".weights_scaling_factor", 1)[0], scales(module + ".activation_scaling_factor", 1)[0]);
        };
    }

    /** trtllm-build accepts fp16 weights with W8A16/W4A16 and quantizes them itself; so does this reader. */
    private WeightData fromFloats(String name, int rows, int cols, IntScheme scheme) {
        float[] w = WeightDecoder.values(dense(name, rows, cols));
        QuantizedInts q = IntQuantizer.quantize(w, rows, cols, cols, scheme, config.storageDtype());
        String module = name.substring(0, name.length() - ".weight".length());
        return scheme.bits() == 8
                ? new WeightData.Int8PerChannel(module, rows, cols, segment(q.values()), q.scales(), null)
                : new WeightData.Int4PerGroup(module, rows, cols, cols,
                segment(Int4Packing.packCanonical(q.values(), rows, cols)), q.scales(), null);
    }

    private boolean isFloat(String name) {
        DType t = info(name).dtype();
        return t == DType.F16 || t == DType.BF16 || t == DType.F32;
    }

    private TensorInfo info(String name) {
        if (!source.contains(name)) {
            throw new TinyrtException(source.path() + ": missing tensor " + name + " (quant_algo "
                    + config.quantization().algo().configName() + ")");
        }
        return source.info(name);
    }

    private MemorySegment raw(String name, DType dtype, long... shape) {
        TensorInfo info = info(name);
        // FP8 weights exported before safetensors knew e4m3 are int8 bytes (TensorRT-LLM views them as e4m3)
        boolean ok = info.dtype() == dtype || (dtype == DType.F8_E4M3 && info.dtype() == DType.I8);
        if (!ok || !Arrays.equals(info.shape(), shape)) {
            throw new TinyrtException(source.path() + ": tensor " + name + " is " + info.dtype()
                    + Arrays.toString(info.shape()) + " but quant_algo " + config.quantization().algo().configName()
                    + " needs " + dtype + Arrays.toString(shape));
        }
        return source.data(name);
    }

    private byte[] int8(String name, long... shape) {
        return raw(name, DType.I8, shape).toArray(ValueLayout.JAVA_BYTE);
    }

    private float[] scales(String name, int count) {
        TensorInfo info = info(name);
        if (info.numel() != count) {
            throw new TinyrtException(source.path() + ": tensor " + name + " has " + info.numel() + " values, "
                    + "expected " + count);
        }
        return source.toFloats(name);
    }

    /**
     * A rearranged weight in native memory of its own: freed once the weight is dropped (backends copy or upload
     * it), not kept for as long as this layout (the loaded model holds it for KV-cache calibration).
     */
    private static MemorySegment segment(byte[] bytes) {
        MemorySegment s = Arena.ofAuto().allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
        return s;
    }

    private WeightData dense(String name, int rows, int cols) {
        TensorInfo info = info(name);
        long[] expected = rows == 1 ? new long[]{cols} : new long[]{rows, cols};
        if (!Arrays.equals(info.shape(), expected)) {
            throw new TinyrtException(source.path() + ": tensor " + name + " has shape " + Arrays.toString(info.shape())
                    + " but the config implies " + Arrays.toString(expected));
        }
        DType t = info.dtype();
        if (t != DType.F32 && t != DType.F16 && t != DType.BF16) {
            throw new TinyrtException(source.path() + ": tensor " + name + " has dtype " + t + "; quant_algo "
                    + config.quantization().algo().configName() + " keeps it unquantized (F32, F16 or BF16)");
        }
        return new WeightData.Dense(name, t, rows, cols, source.data(name));
    }
}
