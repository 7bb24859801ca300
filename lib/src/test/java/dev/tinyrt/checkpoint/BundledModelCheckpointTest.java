package dev.tinyrt.checkpoint;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.backend.cpu.CpuBackend;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.HfWeightLayout;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.quant.DequantizedLayout;
import dev.tinyrt.quant.LogitDivergence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bundled tinyrt-12m through TensorRT-LLM checkpoints and back, and through the engine. */
class BundledModelCheckpointTest {
    static final Path HF = ProjectHome.require().resolve("data/models/tinyrt-12m");
    static final Path CONFIGS = ProjectHome.require().resolve("configs");
    static final int[] IDS = {1, 450, 7483, 310, 3444, 338, 3681, 29892, 322, 278, 7483, 310, 9556, 338, 4517, 29889};

    @TempDir
    Path tmp;

    @Test
    void fp16CheckpointRunsLikeTheHfModelAndGoesBackByteForByte() throws IOException {
        Path trt = tmp.resolve("fp16");
        TrtllmConverter.convert(HF, BuildConfigLoader.load(CONFIGS.resolve("tinyllama_fp16.yaml")), null, trt);
        LlamaConfig config = LlamaConfig.read(HF.resolve("config.json"));
        try (TensorSource hf = Checkpoints.open(HF); TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(trt);
             CpuBackend backend = new CpuBackend();
             LlamaModel a = LlamaModel.load(config, new HfWeightLayout(hf, config), backend, StoragePrecision.AUTO);
             LlamaModel b = LlamaModel.load(ckpt.config().model(), ckpt.layout(), backend, StoragePrecision.AUTO)) {
            float[][] la = a.promptLogits(IDS);
            float[][] lb = b.promptLogits(IDS);
            for (int t = 0; t < IDS.length; t++) {
                assertArrayEquals(la[t], lb[t], "identical weights give identical logits at position " + t);
            }
        }
        Path back = tmp.resolve("back");
        HfExporter.export(trt, back, false);
        try (SafetensorsFile x = SafetensorsFile.open(HF.resolve("model.safetensors"));
             SafetensorsFile y = SafetensorsFile.open(back.resolve("model.safetensors"))) {
            assertEquals(x.names().size(), y.names().size());
            for (String t : x.names()) {
                assertArrayEquals(x.data(t).toArray(ValueLayout.JAVA_BYTE), y.data(t).toArray(ValueLayout.JAVA_BYTE), t);
            }
        }
    }

    @Test
    void int8WeightsStayCloseToFp16InTheEngine() {
        Path trt = tmp.resolve("int8");
        TrtllmConverter.convert(HF, BuildConfigLoader.load(CONFIGS.resolve("tinyllama_int8.yaml")), null, trt);
        LlamaConfig config = LlamaConfig.read(HF.resolve("config.json"));
        try (TensorSource hf = Checkpoints.open(HF); TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(trt);
             CpuBackend backend = new CpuBackend();
             LlamaModel ref = LlamaModel.load(config, new HfWeightLayout(hf, config), backend, StoragePrecision.AUTO);
             LlamaModel q = LlamaModel.load(config, new DequantizedLayout(ckpt.layout()), backend,
                     StoragePrecision.AUTO)) {
            double kl = LogitDivergence.meanKl(LogitDivergence.logProbs(ref, IDS), LogitDivergence.logProbs(q, IDS));
            assertTrue(kl > 0 && kl < 2e-3, "INT8 per-channel weights barely move the distribution: KL " + kl);
        }
    }
}
