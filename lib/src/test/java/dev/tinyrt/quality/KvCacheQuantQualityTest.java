package dev.tinyrt.quality;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.engine.KvCacheScales;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.Request;
import dev.tinyrt.runtime.RequestHandle;
import dev.tinyrt.runtime.SamplingParams;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An int8/fp8 KV cache on the bundled tinyrt-12m (scales calibrated on data/calibration/calib.txt, the checkpoint
 * has none): a small but non-zero KL divergence from the fp32 engine on validation text, a cache of half the fp16
 * bytes per token, and the executor over it keeps batch invariance and frees its blocks.
 */
class KvCacheQuantQualityTest {
    private static final Path MODEL = Path.of("../data/models/tinyrt-12m");
    private static final Path TEXT = Path.of("../data/corpus/validation.txt");

    @Test
    void int8AndFp8KvGiveASmallNonZeroKldAgainstFp32() {
        ModelSpec ref = new ModelSpec("fp32", MODEL, StoragePrecision.FP32);
        List<ModelSpec> cands = List.of(new ModelSpec("kv int8", MODEL, StoragePrecision.FP32, KvCacheDtype.INT8),
                new ModelSpec("kv fp8", MODEL, StoragePrecision.FP32, KvCacheDtype.FP8),
                new ModelSpec("kv fp16", MODEL, StoragePrecision.FP32, KvCacheDtype.FP16));
        QualityRun.Outcome o = new QualityRun(ref, cands, TEXT, 128, 4, 2, false).execute();
        QualityResult int8 = o.results().get(0);
        QualityResult fp8 = o.results().get(1);
        QualityResult fp16 = o.results().get(2);
        for (QualityResult r : o.results()) {
            System.out.printf("%s: mean KLD %.3e, max %.3e, same top %.4f%n", r.label(), r.meanKld().value(),
                    r.kld().max(), r.sameTop().value());
        }
        assertTrue(int8.meanKld().value() > 0, "int8 KV changed nothing");
        assertTrue(int8.meanKld().value() < 5e-3, "int8 KV mean KLD " + int8.meanKld().value());
        assertTrue(int8.sameTop().value() > 0.97, "int8 KV same top " + int8.sameTop().value());
        assertTrue(fp8.meanKld().value() > 0 && fp8.meanKld().value() < 5e-2, "fp8 KV mean KLD "
                + fp8.meanKld().value());
        assertTrue(fp16.meanKld().value() < int8.meanKld().value(), "fp16 KV is closer than int8");
    }

    @Test
    void theInt8PoolIsHalfTheFp16PoolAndTheExecutorKeepsBatchInvariance() throws Exception {
        long fp16;
        try (LoadedModel m = LoadedModel.open(MODEL, LoadedModel.Options.defaults().withKvCacheDtype(
                KvCacheDtype.FP16)); KvCache c = m.model().kvCache(4, 32)) {
            fp16 = c.bytesPerToken();
            assertEquals(2L * 2 * m.config().numLayers() * m.config().kvDim(), fp16);
        }
        try (LoadedModel m = LoadedModel.open(MODEL, new LoadedModel.Options("cpu", StoragePrecision.AUTO, 2,
                KvCacheDtype.INT8))) {
            assertEquals(KvCacheScales.Source.CALIBRATION, m.kvCache().source());
            assertEquals(KvCacheDtype.INT8, m.kvCache().format().dtype());
            ExecutorConfig config = ExecutorConfig.defaults(64 * 32).withMaxBatchSize(4);
            List<int[]> prompts = List.of(m.requireTokenizer().encode("The old man walked to the"),
                    m.requireTokenizer().encode("In the beginning there was"),
                    m.requireTokenizer().encode("She opened the door and saw"));
            List<int[]> alone = new ArrayList<>();
            try (Executor e = m.executor(config)) {
                assertEquals(KvCacheDtype.INT8, e.kvCache().dtype());
                assertEquals(fp16 / 2, e.kvCache().bytesPerToken(), "int8 KV: half the fp16 bytes per token");
                for (int[] p : prompts) {
                    alone.add(e.submit(new Request(p, SamplingParams.greedy(12).withIgnoreEos(true))).result()
                            .get(60, TimeUnit.SECONDS).outputIds());
                }
                List<RequestHandle> together = new ArrayList<>();
                for (int[] p : prompts) {
                    together.add(e.submit(new Request(p, SamplingParams.greedy(12).withIgnoreEos(true))));
                }
                for (int i = 0; i < prompts.size(); i++) {
                    GenerationResult r = together.get(i).result().get(60, TimeUnit.SECONDS);
                    assertArrayEquals(alone.get(i), r.outputIds(), "request " + i + " batched vs alone");
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (e.blockManager().usedBlocks() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(0, e.blockManager().usedBlocks(), "blocks of finished requests are freed");
            }
        }
    }
}
