package dev.tinyrt.notebook;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.HfWeightLayout;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.quant.WeightDecoder;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * How far the linear weights of a TensorRT-LLM checkpoint are from the HuggingFace weights they were converted
 * from, layer by layer and module by module. A quantized weight is compared as the layer effectively applies it:
 * dequantized, with its pre-quant scale (AWQ, SmoothQuant) folded back into the columns; quantization of the
 * activations (W8A8, FP8) is not part of a weight's error.
 */
public final class WeightErrors {
    /** TensorRT-LLM's module names for the five linear layers of a decoder layer, in checkpoint order. */
    public static final List<String> MODULES = List.of("attention.qkv", "attention.dense", "mlp.fc", "mlp.gate",
            "mlp.proj");

    /**
     * One linear layer's error.
     *
     * @param module        TensorRT-LLM's name within the layer, e.g. {@code mlp.fc}
     * @param hfWeights     the HF weights behind it, e.g. {@code gate_proj}
     * @param relativeError ‖W' − W‖ / ‖W‖ (Frobenius norms), W' the effective converted weight
     * @param maxAbsError   the largest |W' − W| of one element
     */
    public record Linear(int layer, String module, String hfWeights, int rows, int cols, double relativeError,
                         double maxAbsError) {
    }

    private WeightErrors() {
    }

    /** Errors of every linear layer: layer 0's five modules first, in {@link #MODULES} order. */
    public static List<Linear> compare(Path hfDir, Path trtllmDir) {
        LlamaConfig config = LlamaConfig.read(hfDir.resolve("config.json"));
        try (TensorSource hfSource = Checkpoints.open(hfDir);
             TrtllmCheckpoint converted = TrtllmCheckpoint.open(trtllmDir)) {
            LlamaConfig c = converted.config().model();
            if (c.numLayers() != config.numLayers() || c.hiddenSize() != config.hiddenSize()
                    || c.intermediateSize() != config.intermediateSize() || c.qDim() != config.qDim()
                    || c.kvDim() != config.kvDim()) {
                throw new TinyrtException(trtllmDir + " was not converted from " + hfDir + ": their shapes differ");
            }
            HfWeightLayout hf = new HfWeightLayout(hfSource, config);
            WeightLayout trt = converted.layout();
            List<Linear> errors = new ArrayList<>();
            for (int l = 0; l < config.numLayers(); l++) {
                errors.add(error(l, MODULES.get(0), "q_proj|k_proj|v_proj", hf.qkv(l), trt.qkv(l)));
                errors.add(error(l, MODULES.get(1), "o_proj", List.of(hf.attentionOut(l)), List.of(trt.attentionOut(l))));
                errors.add(error(l, MODULES.get(2), "gate_proj", List.of(hf.gateUp(l).get(0)), List.of(trt.gateUp(l).get(0))));
                errors.add(error(l, MODULES.get(3), "up_proj", List.of(hf.gateUp(l).get(1)), List.of(trt.gateUp(l).get(1))));
                errors.add(error(l, MODULES.get(4), "down_proj", List.of(hf.down(l)), List.of(trt.down(l))));
            }
            return errors;
        }
    }

    /**
     * The errors as a table: precision, layer, module, HF weights, rows, cols, relative error (%), max |error|.
     * Tables of several precisions {@link Table#append append} into one.
     */
    public static Table table(String precision, List<Linear> errors) {
        return Table.create("weight error per linear layer",
                StringColumn.create("precision", errors.stream().map(e -> precision).toList()),
                IntColumn.create("layer", ints(errors, Linear::layer)),
                StringColumn.create("module", errors.stream().map(Linear::module).toList()),
                StringColumn.create("hf weights", errors.stream().map(Linear::hfWeights).toList()),
                IntColumn.create("rows", ints(errors, Linear::rows)),
                IntColumn.create("cols", ints(errors, Linear::cols)),
                DoubleColumn.create("relative error %", errors.stream().mapToDouble(e -> 100 * e.relativeError())),
                DoubleColumn.create("max |error|", errors.stream().mapToDouble(Linear::maxAbsError)));
    }

    private static int[] ints(List<Linear> errors, Function<Linear, Integer> f) {
        return errors.stream().mapToInt(f::apply).toArray();
    }

    /** {@code original} parts stacked by rows (q, k, v) against the one converted matrix. */
    private static Linear error(int layer, String module, String hfWeights, List<WeightData> original,
                                List<WeightData> converted) {
        float[] w = stack(original);
        float[] q = stack(converted);
        int cols = original.getFirst().cols();
        if (w.length != q.length) {
            throw new TinyrtException("layer " + layer + " " + module + ": " + q.length + " converted values for "
                    + w.length + " original ones");
        }
        double diff = 0;
        double norm = 0;
        double max = 0;
        for (int i = 0; i < w.length; i++) {
            double e = (double) q[i] - w[i];
            diff += e * e;
            norm += (double) w[i] * w[i];
            max = Math.max(max, Math.abs(e));
        }
        return new Linear(layer, module, hfWeights, w.length / cols, cols, norm == 0 ? 0 : Math.sqrt(diff / norm), max);
    }

    private static float[] stack(List<WeightData> parts) {
        if (parts.size() == 1) {
            return WeightDecoder.effective(parts.getFirst());
        }
        List<float[]> values = parts.stream().map(WeightDecoder::effective).toList();
        float[] all = new float[values.stream().mapToInt(v -> v.length).sum()];
        int at = 0;
        for (float[] v : values) {
            System.arraycopy(v, 0, all, at, v.length);
            at += v.length;
        }
        return all;
    }
}
