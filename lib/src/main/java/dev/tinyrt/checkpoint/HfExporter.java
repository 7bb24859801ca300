package dev.tinyrt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.cli.Progress;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.SafetensorsWriter;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.QuantAlgo;
import dev.tinyrt.quant.ScaleStorage;
import dev.tinyrt.quant.WeightDecoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Converts a TensorRT-LLM checkpoint back to a HuggingFace one (config.json + model.safetensors with
 * {@code model.layers.N...} names, q/k/v split again, fc → gate_proj, gate → up_proj, proj → down_proj). An
 * unquantized checkpoint comes back byte for byte: every tensor is a slice of the stored bytes. A quantized one is
 * refused unless {@code dequantize} is set; then each linear layer is written as its dequantized weight with the
 * pre-quant scale folded in (what the layer computes, minus any activation quantization), in the checkpoint dtype.
 */
public final class HfExporter {
    private HfExporter() {
    }

    public static LlamaConfig export(Path trtllmDir, Path outDir, boolean dequantize) {
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(trtllmDir)) {
            TrtllmConfig config = ckpt.config();
            QuantAlgo algo = config.quantization().algo();
            if (algo != QuantAlgo.NONE && !dequantize) {
                throw new TinyrtException(trtllmDir + " is quantized (quant_algo " + algo.trtllmName() + "); a HF "
                        + "checkpoint holds plain weights: pass --dequantize to write the dequantized weights in "
                        + config.dtype());
            }
            LlamaConfig model = config.model();
            DType dtype = config.storageDtype();
            TrtllmWeightLayout layout = ckpt.layout();
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            try (Progress progress = Progress.start("export", model.numLayers(), "layers")) {
                put(writer, "model.embed_tokens.weight", layout.embedding(), dtype);
                for (int l = 0; l < model.numLayers(); l++) {
                    String p = "model.layers." + l + ".";
                    WeightData qkv = layout.qkv(l).getFirst();
                    putRows(writer, p + "self_attn.q_proj.weight", qkv, 0, model.qDim(), dtype);
                    putRows(writer, p + "self_attn.k_proj.weight", qkv, model.qDim(), model.kvDim(), dtype);
                    putRows(writer, p + "self_attn.v_proj.weight", qkv, model.qDim() + model.kvDim(), model.kvDim(),
                            dtype);
                    put(writer, p + "self_attn.o_proj.weight", layout.attentionOut(l), dtype);
                    put(writer, p + "mlp.gate_proj.weight", layout.gateUp(l).get(0), dtype);
                    put(writer, p + "mlp.up_proj.weight", layout.gateUp(l).get(1), dtype);
                    put(writer, p + "mlp.down_proj.weight", layout.down(l), dtype);
                    put(writer, p + "input_layernorm.weight", layout.inputNorm(l), dtype);
                    put(writer, p + "post_attention_layernorm.weight", layout.postAttentionNorm(l), dtype);
                    progress.step(1);
                }
                put(writer, "model.norm.weight", layout.finalNorm(), dtype);
                WeightData head = layout.lmHead();
                if (!model.tieWordEmbeddings()) {
                    put(writer, "lm_head.weight", head != null ? head : layout.embedding(), dtype);
                }
                Files.createDirectories(outDir);
                writer.write(outDir.resolve("model.safetensors"));
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(
                    outDir.resolve("config.json").toFile(), model.toHfJson(LlamaConfig.Spelling.HF4));
            for (String f : TrtllmConverter.SIDE_FILES) {
                Path src = trtllmDir.resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, outDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return model;
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + outDir + ": " + e.getMessage(), e);
        }
    }

    private static void put(SafetensorsWriter writer, String name, WeightData data, DType dtype) {
        long[] shape = data.rows() == 1 ? new long[]{data.cols()} : new long[]{data.rows(), data.cols()};
        if (data instanceof WeightData.Dense d) {
            writer.add(name, d.dtype(), shape, d.bytes());
        } else {
            writer.add(name, dtype, shape, TrtllmConverter.encode(dequantized(data, dtype), dtype));
        }
    }

    /** Rows {@code [from, from + count)} of a fused matrix: a byte slice when dense, else dequantized. */
    private static void putRows(SafetensorsWriter writer, String name, WeightData data, int from, int count,
                                DType dtype) {
        long[] shape = {count, data.cols()};
        if (data instanceof WeightData.Dense d) {
            long rowBytes = (long) d.cols() * d.dtype().byteSize();
            writer.add(name, d.dtype(), shape, d.bytes().asSlice(from * rowBytes, count * rowBytes));
        } else {
            float[] all = dequantized(data, dtype);
            float[] part = new float[count * data.cols()];
            System.arraycopy(all, from * data.cols(), part, 0, part.length);
            writer.add(name, dtype, shape, TrtllmConverter.encode(part, dtype));
        }
    }

    private static float[] dequantized(WeightData data, DType dtype) {
        float[] w = WeightDecoder.effective(data);
        for (int i = 0; i < w.length; i++) {
            w[i] = ScaleStorage.roundTo(dtype, w[i]);
        }
        return w;
    }
}
