package dev.tinyrt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.cli.Progress;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.io.SafetensorsWriter;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.ActivationObserver.Linear;
import dev.tinyrt.model.HfWeightLayout;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.AwqSearch;
import dev.tinyrt.quant.CalibrationStats;
import dev.tinyrt.quant.Gram;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.LinearInput;
import dev.tinyrt.quant.QuantAlgo;
import dev.tinyrt.quant.ScaleStorage;
import dev.tinyrt.quant.SmoothQuant;
import dev.tinyrt.quant.WeightDecoder;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a HuggingFace Llama checkpoint into a TensorRT-LLM checkpoint ({@code config.json} +
 * {@code rank0.safetensors}) as a build config asks: q|k|v fused into {@code attention.qkv}, gate_proj → mlp.fc,
 * up_proj → mlp.gate, down_proj → mlp.proj, every linear layer quantized by {@link LinearEncoder}; embedding, norms
 * and lm_head stay in the checkpoint dtype (they are in exclude_modules). Tokenizer files and
 * generation_config.json are copied along so the directory is also self-contained for tinyrt.
 */
public final class TrtllmConverter {
    static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer.model", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What AWQ chose for one linear layer. */
    public record AwqChoice(String module, float alpha, double loss, double rtnLoss) {
    }

    public record Result(Path directory, TrtllmConfig config, List<AwqChoice> awq) {
    }

    private TrtllmConverter() {
    }

    /** The checkpoint's quantization block for a build config's quantization. */
    public static TrtllmConfig.Quantization quantizationFor(BuildConfig.Quantization q) {
        List<String> exclude = List.of(TrtllmNames.LM_HEAD_MODULE, TrtllmNames.EMBEDDING_MODULE);
        return switch (q.algorithm()) {
            case NONE -> new TrtllmConfig.Quantization(QuantAlgo.NONE, q.kvCache(), 128, false, 0.5f,
                    q.kvCache() == KvCacheQuant.NONE ? null : exclude);
            case W8A16, FP8 -> new TrtllmConfig.Quantization(q.algorithm(), q.kvCache(), 128, false, 0.5f, exclude);
            // TensorRT-LLM's W4A16 is per channel (mode.py: no PER_GROUP); group-wise INT4 uses ModelOpt's W4A16_AWQ
            // layout, which is also how ModelOpt exports round-to-nearest INT4 blocks (quant_utils.py,
            // get_quantization_format: any 4-bit block quantizer -> int4_awq)
            case W4A16 -> q.groupSize() == 0
                    ? new TrtllmConfig.Quantization(QuantAlgo.W4A16, q.kvCache(), 128, false, 0.5f, exclude)
                    : new TrtllmConfig.Quantization(QuantAlgo.W4A16_AWQ, q.kvCache(), q.groupSize(), true, 0.5f, exclude);
            case W4A16_AWQ -> new TrtllmConfig.Quantization(QuantAlgo.W4A16_AWQ, q.kvCache(), q.groupSize(), true, 0.5f,
                    exclude);
            case W8A8_SQ_PER_CHANNEL -> new TrtllmConfig.Quantization(QuantAlgo.W8A8_SQ_PER_CHANNEL, q.kvCache(), 128,
                    false, q.smoothquantAlpha(), exclude);
        };
    }

    public static Result convert(Path hfDir, BuildConfig build, Path calibOverride, Path outDir) {
        LlamaConfig model = LlamaConfig.read(hfDir.resolve("config.json"));
        build.checkAgainst(model);
        DType dtype = TrtllmConfig.storageDtype(build.dtype());
        TrtllmConfig config = new TrtllmConfig(model.withDtype(build.dtype()), build.dtype(),
                quantizationFor(build.quantization()));
        List<AwqChoice> awq = new ArrayList<>();
        try (TensorSource source = Checkpoints.open(hfDir)) {
            HfWeightLayout layout = new HfWeightLayout(source, model);
            CalibrationStats stats = build.quantization().needsCalibration()
                    ? CalibrationRun.run(hfDir, model, layout, build, calibOverride) : null;
            SafetensorsWriter writer = new SafetensorsWriter();
            LinearEncoder encoder = new LinearEncoder(config.quantization(), dtype, writer,
                    build.quantization().algorithm() == QuantAlgo.W4A16_AWQ, build.quantization().awqGrid(),
                    build.quantization().awqClip(), build.quantization().smoothquantAlpha(),
                    build.quantization().floatWeights());
            try (Progress progress = Progress.start("convert", model.numLayers(), "layers")) {
                dense(writer, TrtllmNames.EMBEDDING, layout.embedding(), dtype);
                for (int l = 0; l < model.numLayers(); l++) {
                    writeLayer(l, model, layout, stats, encoder, writer, config, awq);
                    progress.step(1);
                }
                dense(writer, TrtllmNames.FINAL_NORM, layout.finalNorm(), dtype);
                // TensorRT-LLM's Llama converter writes lm_head even when tied to the embedding
                WeightData head = layout.lmHead();
                dense(writer, TrtllmNames.LM_HEAD, head != null ? head : layout.embedding(), dtype);
                Files.createDirectories(outDir);
                writer.write(outDir.resolve(TrtllmConfig.WEIGHTS_FILE));
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValue(outDir.resolve(TrtllmConfig.CONFIG_FILE).toFile(), config.toJson(producer(build, stats)));
            copySideFiles(hfDir, outDir);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + outDir + ": " + e.getMessage(), e);
        }
        return new Result(outDir, config, awq);
    }

    private static void writeLayer(int l, LlamaConfig model, HfWeightLayout layout, CalibrationStats stats,
                                   LinearEncoder encoder, SafetensorsWriter writer, TrtllmConfig config,
                                   List<AwqChoice> awq) {
        DType dtype = config.storageDtype();
        dense(writer, TrtllmNames.inputNorm(l), layout.inputNorm(l), dtype);
        dense(writer, TrtllmNames.postNorm(l), layout.postAttentionNorm(l), dtype);
        List<WeightData> qkv = layout.qkv(l);
        List<WeightData> gateUp = layout.gateUp(l);
        if (config.quantization().algo() == QuantAlgo.NONE) {
            denseRows(writer, TrtllmNames.qkv(l) + ".weight", qkv, dtype);
            dense(writer, TrtllmNames.dense(l) + ".weight", layout.attentionOut(l), dtype);
            dense(writer, TrtllmNames.fc(l) + ".weight", gateUp.get(0), dtype);
            dense(writer, TrtllmNames.gate(l) + ".weight", gateUp.get(1), dtype);
            dense(writer, TrtllmNames.proj(l) + ".weight", layout.down(l), dtype);
        } else {
            Map<Linear, Gram> grams = new EnumMap<>(Linear.class);
            int h = model.hiddenSize();
            int inter = model.intermediateSize();
            linear(encoder, TrtllmNames.qkv(l), concat(qkv, dtype), model.qDim() + 2 * model.kvDim(), h, l,
                    Linear.QKV, stats, grams, awq, null);
            linear(encoder, TrtllmNames.dense(l), floats(layout.attentionOut(l), dtype), h, model.qDim(), l,
                    Linear.DENSE, stats, grams, awq, null);
            float[] fc = floats(gateUp.get(0), dtype);
            float[] gate = floats(gateUp.get(1), dtype);
            // SmoothQuant: gate and up read one input and are fused into one GEMM, so they share a pre-scale
            float[] shared = config.quantization().algo() == QuantAlgo.W8A8_SQ_PER_CHANNEL
                    ? SmoothQuant.columnAbsMax(gate, inter, h, SmoothQuant.columnAbsMax(fc, inter, h, null)) : null;
            linear(encoder, TrtllmNames.fc(l), fc, inter, h, l, Linear.GATE_UP, stats, grams, awq, shared);
            linear(encoder, TrtllmNames.gate(l), gate, inter, h, l, Linear.GATE_UP, stats, grams, awq, shared);
            linear(encoder, TrtllmNames.proj(l), floats(layout.down(l), dtype), h, inter, l, Linear.DOWN, stats,
                    grams, awq, null);
        }
        KvCacheQuant kv = config.quantization().kvCache();
        if (kv != KvCacheQuant.NONE) {
            writer.addFloats(TrtllmNames.kvCacheScale(l), DType.F32, new long[]{1},
                    new float[]{kv.scale(stats.kvAmax()[l])});
        }
    }

    private static void linear(LinearEncoder encoder, String module, float[] w, int rows, int cols, int layer,
                               Linear input, CalibrationStats stats, Map<Linear, Gram> grams, List<AwqChoice> awq,
                               float[] sharedColumnMax) {
        var in = stats == null ? null : stats.inputs().get(new LinearInput(layer, input));
        AwqSearch.Result r = encoder.encode(module, w, rows, cols, in,
                () -> grams.computeIfAbsent(input, k -> Gram.of(in.sampledRows(), cols)), sharedColumnMax);
        if (r != null) {
            awq.add(new AwqChoice(module, r.alpha(), r.loss(), r.rtnLoss()));
        }
    }

    /** Values of a dense HF weight as the checkpoint dtype will hold them. */
    static float[] floats(WeightData data, DType dtype) {
        float[] v = WeightDecoder.values(data);
        if (data instanceof WeightData.Dense d && d.dtype() != dtype) {
            for (int i = 0; i < v.length; i++) {
                v[i] = ScaleStorage.roundTo(dtype, v[i]);
            }
        }
        return v;
    }

    private static float[] concat(List<WeightData> parts, DType dtype) {
        int total = 0;
        for (WeightData p : parts) {
            total += p.rows() * p.cols();
        }
        float[] out = new float[total];
        int at = 0;
        for (WeightData p : parts) {
            float[] v = floats(p, dtype);
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    /** Matrices stacked by rows into one tensor (fused q|k|v), bytes copied as they are when the dtype matches. */
    private static void denseRows(SafetensorsWriter writer, String name, List<WeightData> parts, DType dtype) {
        int rows = 0;
        int cols = parts.getFirst().cols();
        for (WeightData p : parts) {
            rows += p.rows();
        }
        if (parts.stream().allMatch(p -> p instanceof WeightData.Dense d && d.dtype() == dtype)) {
            MemorySegment out = MemorySegment.ofArray(new byte[rows * cols * dtype.byteSize()]);
            long at = 0;
            for (WeightData p : parts) {
                MemorySegment b = ((WeightData.Dense) p).bytes();
                MemorySegment.copy(b, 0, out, at, b.byteSize());
                at += b.byteSize();
            }
            writer.add(name, dtype, new long[]{rows, cols}, out);
        } else {
            writer.add(name, dtype, new long[]{rows, cols}, encode(concat(parts, dtype), dtype));
        }
    }

    /** A dense tensor in {@code dtype}: the source bytes as they are when the dtype matches (exact, no copy). */
    private static void dense(SafetensorsWriter writer, String name, WeightData data, DType dtype) {
        long[] shape = data.rows() == 1 ? new long[]{data.cols()} : new long[]{data.rows(), data.cols()};
        if (data instanceof WeightData.Dense d && d.dtype() == dtype) {
            writer.add(name, dtype, shape, d.bytes());
        } else {
            writer.add(name, dtype, shape, encode(floats(data, dtype), dtype));
        }
    }

    /** fp32 values as little-endian bytes of {@code dtype}. */
    static MemorySegment encode(float[] v, DType dtype) {
        MemorySegment out = MemorySegment.ofArray(new byte[v.length * dtype.byteSize()]);
        for (int i = 0; i < v.length; i++) {
            switch (dtype) {
                case F32 -> out.setAtIndex(F32, i, v[i]);
                case F16 -> out.setAtIndex(I16, i, Numerics.floatToF16(v[i]));
                case BF16 -> out.setAtIndex(I16, i, Numerics.floatToBf16(v[i]));
                default -> throw new IllegalArgumentException("dense dtype " + dtype);
            }
        }
        return out;
    }

    private static ObjectNode producer(BuildConfig build, CalibrationStats stats) {
        ObjectNode p = new ObjectMapper().createObjectNode();
        p.put("name", "tinyrt");
        p.put("build_config", build.source().getFileName().toString());
        p.put("algorithm", build.quantization().algorithm().configName());
        if (stats != null) {
            ObjectNode c = p.putObject("calibration");
            c.put("samples", stats.samples());
            c.put("seq_len", stats.seqLen());
        }
        return p;
    }

    private static void copySideFiles(Path from, Path to) throws IOException {
        for (String f : SIDE_FILES) {
            Path src = from.resolve(f);
            if (Files.isRegularFile(src)) {
                Files.copy(src, to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
