package dev.tinyrt.engine;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.quality.ModelSpec;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where int8/fp8 KV-cache scales come from: a checkpoint converted with {@code kv_cache: int8} brings its own
 * (used as written), an HF checkpoint is calibrated at load with the converter's own statistics (the same 16 x 128
 * tokens give the same scales), and a checkpoint with the other algorithm is calibrated too.
 */
class KvCacheScalesTest {
    private static final Path MODEL = Path.of("../data/models/tinyrt-12m");

    @TempDir
    static Path tmp;
    static Path converted;

    @BeforeAll
    static void convert() throws IOException {
        Path cfg = tmp.resolve("kv8.yaml");
        Files.writeString(cfg, "quantization:\n  algorithm: none\n  kv_cache: int8\ncalibration:\n  data: "
                + ProjectHome.require().resolve("data/calibration/calib.txt") + "\n  samples: "
                + KvCacheScales.SAMPLES + "\n  seq_len: " + KvCacheScales.SEQ_LEN + "\n");
        converted = tmp.resolve("kv8");
        TrtllmConverter.convert(MODEL, BuildConfigLoader.load(cfg), null, converted);
    }

    @Test
    void aKvQuantizedCheckpointRunsWithItsOwnScalesAndCalibrationReproducesThem() {
        float[] written = new float[0];
        try (TrtllmCheckpoint c = TrtllmCheckpoint.open(converted)) {
            int layers = c.config().model().numLayers();
            written = new float[layers];
            for (int l = 0; l < layers; l++) {
                written[l] = c.layout().kvCacheScale(l);
            }
        }
        try (LoadedModel m = LoadedModel.open(converted, LoadedModel.Options.defaults())) {
            KvCacheScales.Resolved kv = m.kvCache();
            assertEquals(KvCacheDtype.INT8, kv.format().dtype(), "auto follows kv_cache_quant_algo");
            assertEquals(KvCacheScales.Source.CHECKPOINT, kv.source());
            assertArrayEquals(written, kv.format().layerScales());
        }
        try (LoadedModel m = LoadedModel.open(MODEL, LoadedModel.Options.defaults().withKvCacheDtype(
                KvCacheDtype.INT8))) {
            assertEquals(KvCacheScales.Source.CALIBRATION, m.kvCache().source());
            assertArrayEquals(written, m.kvCache().format().layerScales(),
                    "load-time calibration = the converter's, on the same text and token counts");
            for (float s : written) {
                assertTrue(s > 0 && s < 1, "amax/127 of tinyrt-12m's keys and values: " + s);
            }
        }
        try (LoadedModel m = LoadedModel.open(converted, LoadedModel.Options.defaults().withKvCacheDtype(
                KvCacheDtype.FP8))) {
            assertEquals(KvCacheDtype.FP8, m.kvCache().format().dtype());
            assertEquals(KvCacheScales.Source.CALIBRATION, m.kvCache().source(), "int8 scales do not serve fp8");
        }
        try (LoadedModel m = LoadedModel.open(converted, LoadedModel.Options.defaults().withKvCacheDtype(
                KvCacheDtype.FP32))) {
            assertEquals(KvCacheFormat.of(KvCacheDtype.FP32), m.kvCache().format(), "an explicit type wins");
        }
    }

    @Test
    void anExecutorMayAskForAnotherKvTypeThanTheModels() {
        try (LoadedModel m = LoadedModel.open(MODEL, LoadedModel.Options.defaults())) {
            assertEquals(KvCacheDtype.AUTO, m.kvCache().format().dtype());
            ExecutorConfig c = ExecutorConfig.defaults(256);
            try (Executor raw = new Executor(m.model(), m.tokenizer(), m.eosIds(),
                    c.withKvCacheDtype(KvCacheDtype.FP16))) {
                assertEquals(KvCacheDtype.FP16, raw.kvCache().dtype(), "unquantized types need no scales");
            }
            TinyrtException e = assertThrows(TinyrtException.class, () -> new Executor(m.model(), m.tokenizer(),
                    m.eosIds(), c.withKvCacheDtype(KvCacheDtype.INT8)));
            assertTrue(e.getMessage().contains("no int8 KV-cache scales"), e.getMessage());
            try (Executor ex = m.executor(c.withKvCacheDtype(KvCacheDtype.INT8))) {  // LoadedModel calibrates
                assertEquals(KvCacheDtype.INT8, ex.kvCache().dtype());
                assertEquals(c.numBlocks(), ex.kvCache().numBlocks());
            }
        }
    }

    @Test
    void qualityRowsNameTheirKvType() {
        assertEquals(new ModelSpec("KV-int8", MODEL, StoragePrecision.FP32, KvCacheDtype.INT8),
                ModelSpec.parseRow("KV-int8=@fp32,kv=int8", MODEL));
        assertEquals("tinyrt-12m fp32 KV-fp8", ModelSpec.of(MODEL, StoragePrecision.FP32, KvCacheDtype.FP8).label());
    }
}
