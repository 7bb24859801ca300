package dev.tinyrt.memory;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.TestCheckpoints;
import dev.tinyrt.io.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MemoryFormulasTest {
    @TempDir
    Path tmp;

    /** TinyLlama-1.1B: 22 layers, 4 kv heads of 64. */
    @Test
    void tinyLlamaKvBytesPerToken() {
        LlamaConfig c = RandomCheckpoint.preset("tinyllama-1.1b");
        assertEquals(22528, MemoryFormulas.kvBytesPerToken(c, KvDtype.FP16));
        assertEquals(45056, MemoryFormulas.kvBytesPerToken(c, KvDtype.FP32));
        assertEquals(11264, MemoryFormulas.kvBytesPerToken(c, KvDtype.INT8));
        assertEquals(11264, MemoryFormulas.kvBytesPerToken(c, KvDtype.FP8));
        // TinyLlama-1.1B has 1,100,048,384 parameters: 2.2 GB at 2 bytes each
        assertEquals(2L * c.parameterCount(), MemoryFormulas.weightBytes(c, WeightPrecision.FP16));
        assertEquals(2_200_096_768L, MemoryFormulas.weightBytes(c, WeightPrecision.FP16));
    }

    @Test
    void engineKvCacheIsWhatTheFormulaSays() {
        Path dir = MemoryTestModels.write(MemoryTestModels.small(), tmp.resolve("m"));
        try (LoadedModel m = LoadedModel.open(dir, LoadedModel.Options.defaults());
             KvCache cache = m.backend().kvCache(m.config(), 10, 16)) {
            assertEquals(MemoryFormulas.kvBytesPerToken(m.config(), KvDtype.FP32), cache.bytesPerToken());
            assertEquals(MemoryFormulas.kvBytesPerToken(m.config(), KvDtype.FP32) * 160, cache.totalBytes());
        }
    }

    /** Float precisions: exactly the bytes the model reports holding, tied and untied, GQA and MHA. */
    @Test
    void floatWeightsMatchTheLoadedModel() {
        for (LlamaConfig c : new LlamaConfig[]{MemoryTestModels.small(), TestCheckpoints.gqa(),
                TestCheckpoints.mhaTied()}) {
            Path dir = TestCheckpoints.write(c, DType.F16, 1, tmp.resolve("f" + c.hiddenSize()));
            for (WeightPrecision p : new WeightPrecision[]{WeightPrecision.AUTO, WeightPrecision.FP32,
                    WeightPrecision.FP16, WeightPrecision.BF16}) {
                try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", p.storage(), 1))) {
                    assertEquals(m.model().weightBytes(), MemoryFormulas.weightBytes(m.config(), p), p + " " + c);
                }
            }
        }
    }

    /** Quantized precisions: exactly the canonical forms the converted checkpoint reads back into. */
    @Test
    void quantizedWeightsMatchTheConvertedCheckpoint() {
        LlamaConfig c = MemoryTestModels.small();
        Path hf = MemoryTestModels.write(c, tmp.resolve("hf"));
        for (WeightPrecision p : new WeightPrecision[]{WeightPrecision.INT8, WeightPrecision.INT4}) {
            Path out = tmp.resolve(p.label());
            TrtllmConverter.convert(hf, WeightMeasurement.buildConfig(p, c, null), null, out);
            long canonical = 0;
            try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(out)) {
                for (var d : WeightMeasurement.all(ckpt.layout(), c.numLayers())) {
                    canonical += d.byteSize();
                }
            }
            assertEquals(canonical, MemoryFormulas.weightBytes(c, p), p.label());
        }
    }

    @Test
    void activationWorkspaceCountsEveryBuffer() {
        LlamaConfig c = MemoryTestModels.small();
        // per token: 3·128 (hidden, normed, proj) + (128 + 2·64) qkv + 128 attn + 3·256 (gate|up, act) = 1536 floats
        // per logit row: 128 + 1024 = 1152 floats
        assertEquals(4L * (10 * 1536 + 2 * 1152), MemoryFormulas.activationBytes(c, 10, 2));
    }

    @Test
    void g1FootprintRoundsHumongousArraysToWholeRegions() {
        long mib = 1 << 20;
        assertEquals(100 + 16, HeapFootprint.of(new long[]{100}, 2 * mib));
        assertEquals(4 * mib, HeapFootprint.of(new long[]{2 * mib}, 2 * mib));  // 2 MiB + header: two regions
        assertEquals(2 * mib, HeapFootprint.of(new long[]{mib}, 2 * mib));      // half a region or more: humongous
        assertEquals(2 * mib + 16, HeapFootprint.of(new long[]{2 * mib}, 0));   // not G1: as allocated
    }
}
