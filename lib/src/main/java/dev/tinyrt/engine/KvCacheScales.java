package dev.tinyrt.engine;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.quant.CalibrationCollector;
import dev.tinyrt.quant.CalibrationText;
import dev.tinyrt.quant.Calibrator;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.WeightDecoder;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import dev.tinyrt.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Where an int8/fp8 KV cache's per-layer scales come from: the checkpoint's
 * {@code transformer.layers.N.attention.kv_cache_scaling_factor} when it is a TensorRT-LLM checkpoint quantized with
 * the same {@code kv_cache_quant_algo}; otherwise a short calibration ({@value #SAMPLES} passages of
 * {@value #SEQ_LEN} tokens of data/calibration/calib.txt) measuring max |k| (after RoPE) and |v| per layer exactly
 * as the converter does ({@link CalibrationCollector}), turned into scales by {@link KvCacheQuant#scale}
 * (int8: amax/127; fp8: amax/448 but at least 1, ModelOpt's rule).
 */
public final class KvCacheScales {
    static final int SAMPLES = 16;
    static final int SEQ_LEN = 128;

    /** Where the scales of a resolved format came from. */
    public enum Source { NONE, CHECKPOINT, CALIBRATION }

    public record Resolved(KvCacheFormat format, Source source) {
    }

    private KvCacheScales() {
    }

    static KvCacheQuant algorithm(KvCacheDtype dtype) {
        return switch (dtype) {
            case INT8 -> KvCacheQuant.INT8;
            case FP8 -> KvCacheQuant.FP8;
            default -> KvCacheQuant.NONE;
        };
    }

    static KvCacheDtype dtype(KvCacheQuant algo) {
        return switch (algo) {
            case INT8 -> KvCacheDtype.INT8;
            case FP8 -> KvCacheDtype.FP8;
            case NONE -> KvCacheDtype.AUTO;
        };
    }

    /** The checkpoint's scales for {@code dtype}, or {@code null} when it was not quantized that way. */
    static float[] fromCheckpoint(TrtllmCheckpoint checkpoint, KvCacheDtype dtype) {
        if (checkpoint == null || checkpoint.config().quantization().kvCache() != algorithm(dtype)) {
            return null;
        }
        int layers = checkpoint.config().model().numLayers();
        float[] scales = new float[layers];
        for (int l = 0; l < layers; l++) {
            Float s = checkpoint.layout().kvCacheScale(l);
            if (s == null) {
                throw new TinyrtException(checkpoint.directory() + ": kv_cache_quant_algo is "
                        + algorithm(dtype).trtllmName() + " but layer " + l + " has no kv_cache_scaling_factor");
            }
            scales[l] = s;
        }
        return scales;
    }

    /**
     * Scales from running {@code model} over the calibration text. The model runs with its backend's own KV type
     * meanwhile, so the statistics do not depend on an earlier quantized cache.
     */
    static float[] calibrate(LlamaModel model, WeightLayout layout, Tokenizer tokenizer, KvCacheDtype dtype) {
        LlamaConfig config = model.config();
        Path text = ProjectHome.require().resolve("data/calibration/calib.txt");
        if (!Files.isRegularFile(text)) {
            throw new TinyrtException("calibration text " + text + " is missing: it is needed for " + dtype.label()
                    + " KV-cache scales of a checkpoint that has none");
        }
        int seqLen = Math.min(SEQ_LEN, config.maxPositionEmbeddings());
        Tokenizer t = tokenizer;
        boolean own = false;
        if (t == null) {
            if (config.vocabSize() != 32000) {
                throw new TinyrtException("the model has no tokenizer.json and its vocabulary (" + config.vocabSize()
                        + ") is not the bundled Llama-2 one: " + dtype.label() + " KV-cache calibration needs one");
            }
            t = LlamaTokenizer.loadDefault();
            own = true;
        }
        List<int[]> samples;
        try {
            samples = CalibrationText.samples(text, t, SAMPLES, seqLen);
        } finally {
            if (own) {
                t.close();
            }
        }
        return calibrate(model, layout, samples, dtype);
    }

    /** Scales from running {@code model} over {@code samples} (each a prefill from position 0). */
    static float[] calibrate(LlamaModel model, WeightLayout layout, List<int[]> samples, KvCacheDtype dtype) {
        LlamaConfig config = model.config();
        CalibrationCollector collector = new CalibrationCollector(config, Integer.MAX_VALUE, 0, kvWeights(config,
                layout));
        KvCacheFormat before = model.kvCacheFormat();
        model.useKvCacheFormat(KvCacheFormat.AUTO);
        float[] amax;
        try {
            amax = Calibrator.run(model, samples, collector).kvAmax();
        } finally {
            model.useKvCacheFormat(before);
        }
        KvCacheQuant algo = algorithm(dtype);
        float[] scales = new float[amax.length];
        for (int l = 0; l < amax.length; l++) {
            if (!Float.isFinite(amax[l])) {
                throw new TinyrtException("KV-cache calibration gave max |k|,|v| = " + amax[l] + " in layer " + l
                        + ": the model's activations are not finite");
            }
            scales[l] = algo.scale(amax[l]);
        }
        return scales;
    }

    /** The float k and v projections of every layer, from a fused q|k|v matrix or from three. */
    private static CalibrationCollector.KvWeights[] kvWeights(LlamaConfig config, WeightLayout layout) {
        CalibrationCollector.KvWeights[] w = new CalibrationCollector.KvWeights[config.numLayers()];
        int h = config.hiddenSize();
        for (int l = 0; l < w.length; l++) {
            List<WeightData> qkv = layout.qkv(l);
            if (qkv.size() == 3) {
                w[l] = new CalibrationCollector.KvWeights(WeightDecoder.values(qkv.get(1)),
                        WeightDecoder.values(qkv.get(2)));
            } else {
                float[] all = WeightDecoder.values(qkv.getFirst());
                int k = config.qDim() * h;
                int v = k + config.kvDim() * h;
                w[l] = new CalibrationCollector.KvWeights(Arrays.copyOfRange(all, k, v),
                        Arrays.copyOfRange(all, v, v + config.kvDim() * h));
            }
        }
        return w;
    }
}
