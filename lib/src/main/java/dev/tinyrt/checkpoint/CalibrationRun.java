package dev.tinyrt.checkpoint;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.backend.cpu.CpuBackend;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.quant.ActivationStats;
import dev.tinyrt.quant.CalibrationCollector;
import dev.tinyrt.quant.CalibrationStats;
import dev.tinyrt.quant.CalibrationText;
import dev.tinyrt.quant.Calibrator;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.QuantAlgo;
import dev.tinyrt.quant.WeightDecoder;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import dev.tinyrt.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Calibrates an HF model for a build config: tokenizes the calibration text and runs the CPU engine over it. */
final class CalibrationRun {
    private CalibrationRun() {
    }

    static CalibrationStats run(Path hfDir, LlamaConfig model, WeightLayout layout, BuildConfig build,
                                Path calibOverride) {
        Path text = build.requireCalibrationData(calibOverride);
        BuildConfig.Calibration c = build.calibration();
        if (c.seqLen() > model.maxPositionEmbeddings()) {
            throw new TinyrtException(build.source() + ": calibration.seq_len: " + c.seqLen() + " exceeds the model's "
                    + "max_position_embeddings " + model.maxPositionEmbeddings() + "; allowed: 2.."
                    + model.maxPositionEmbeddings());
        }
        List<int[]> samples;
        try (Tokenizer tokenizer = tokenizer(hfDir, model)) {
            samples = CalibrationText.samples(text, tokenizer, c.samples(), c.seqLen());
        }
        boolean awq = build.quantization().algorithm() == QuantAlgo.W4A16_AWQ;
        long tokens = (long) c.samples() * c.seqLen();
        CalibrationCollector collector = new CalibrationCollector(model,
                ActivationStats.strideFor(tokens, c.awqTokens()), awq ? c.awqTokens() : 0,
                build.quantization().kvCache() == KvCacheQuant.NONE ? null : kvWeights(model, layout));
        try (CpuBackend backend = new CpuBackend();
             LlamaModel engine = LlamaModel.load(model, layout, backend, StoragePrecision.AUTO)) {
            return Calibrator.run(engine, samples, collector);
        }
    }

    private static Tokenizer tokenizer(Path hfDir, LlamaConfig model) {
        if (Files.isRegularFile(hfDir.resolve("tokenizer.json"))) {
            return LlamaTokenizer.load(hfDir);
        }
        if (model.vocabSize() == 32000) {
            return LlamaTokenizer.loadDefault();  // the bundled Llama-2 tokenizer fits a 32000-token vocabulary
        }
        throw new TinyrtException(hfDir + " has no tokenizer.json and its vocabulary (" + model.vocabSize()
                + " tokens) is not the bundled Llama-2 one; calibration needs the model's tokenizer");
    }

    private static CalibrationCollector.KvWeights[] kvWeights(LlamaConfig model, WeightLayout layout) {
        CalibrationCollector.KvWeights[] w = new CalibrationCollector.KvWeights[model.numLayers()];
        for (int l = 0; l < w.length; l++) {
            List<WeightData> qkv = layout.qkv(l);
            w[l] = new CalibrationCollector.KvWeights(WeightDecoder.values(qkv.get(1)), WeightDecoder.values(qkv.get(2)));
        }
        return w;
    }
}
