package dev.tinyrt.backend.cuda;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs in a child JVM against the fake driver with a small "GPU" (FAKE_CUDA_TOTAL_MIB): on CUDA the default KV
 * cache is kv_cache_free_gpu_mem_fraction of the device's free memory (fp16 keys and values), not a share of the
 * Java heap; a fraction that cannot hold one block, or one outside (0, 1], is refused with one clear message.
 */
public final class KvCacheMemoryScenario {
    private static final List<String> failures = new ArrayList<>();

    public static void main(String... args) throws Exception {
        // 4 layers x 4 KV heads x 64 dims: 2 * 4 * 256 * 2 = 4096 bytes per token; 64 x 2048 tokens would need 512 MiB
        LlamaConfig config = new LlamaConfig(300, 256, 512, 4, 4, 4, 64, 2048, 1e-5f, 10000.0, false, "float16", 1,
                List.of(2));
        Path dir = Files.createTempDirectory("tinyrt-kv-memory").resolve("model");
        RandomCheckpoint.write(config, new RandomCheckpoint.Options(1, DType.F16, 0.02, 0, LlamaConfig.Spelling.HF4,
                null), dir);
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            CudaBackend b = (CudaBackend) m.backend();
            long[] info = b.device().memoryInfo();
            System.out.println("fake GPU: free " + info[0] + " of " + info[1] + " bytes");
            check(info[1] == Long.parseLong(System.getenv("FAKE_CUDA_TOTAL_MIB")) << 20, "the small fake GPU is in use");
            for (double fraction : new double[]{0.9, 0.5, 0.25}) {
                long free = b.device().memoryInfo()[0];
                int expected = (int) ((long) (free * fraction) / 4096);
                int tokens = m.defaultExecutorConfig(fraction).kvCacheTokens();
                check(tokens == expected, "fraction " + fraction + ": " + tokens + " KV tokens, expected " + expected);
            }
            ExecutorConfig d = m.defaultExecutorConfig();
            long free = b.device().memoryInfo()[0];
            check(d.kvCacheTokens() == (int) ((long) (free * 0.9) / 4096), "the default fraction is 0.9");
            try (Executor e = m.executor(d)) {
                long left = b.device().memoryInfo()[0];
                long cache = (long) d.numBlocks() * d.tokensPerBlock() * 4096;
                check(free - left == cache, "the executor's cache takes " + (free - left) + " bytes, expected "
                        + cache);
                check(left >= 0.09 * free, "about a tenth of the free memory is left: " + left + " of " + free);
            }
            // the closed executor's storage is kept for the next cache; released, a new cache is measured whole
            check(b.device().memoryInfo()[0] < free, "the backend keeps the idle KV storage for reuse");
            b.releaseIdleMemory();
            check(b.device().memoryInfo()[0] == free, "releaseIdleMemory gives the idle KV storage back");
            try (var cache = m.model().kvCache(64, 32, KvCacheFormat.of(KvCacheDtype.FP16))) {
                long taken = free - b.device().memoryInfo()[0];
                check(taken == cache.totalBytes(), "a fresh 64-block cache takes " + taken + " device bytes, "
                        + "its own size " + cache.totalBytes());
                b.releaseIdleMemory();
                check(free - b.device().memoryInfo()[0] == taken, "a storage in use is not released");
            }
            b.releaseIdleMemory();
            // the backend reports a cache's bytes per token as KvStorage lays it out, without allocating one
            float[] scales = {0.5f, 0.5f, 0.5f, 0.5f};
            for (KvCacheFormat f : List.of(KvCacheFormat.AUTO, KvCacheFormat.of(KvCacheDtype.FP16),
                    KvCacheFormat.quantized(KvCacheDtype.INT8, scales), KvCacheFormat.quantized(KvCacheDtype.FP8,
                    scales))) {
                long reported = b.kvBytesPerToken(config, f);
                check(b.device().memoryInfo()[0] == free, f + ": asking allocates nothing");
                try (var cache = m.model().kvCache(16, 32, f)) {
                    check(reported == cache.bytesPerToken(), f + ": " + reported + " bytes per token reported, "
                            + cache.bytesPerToken() + " in the cache");
                }
                b.releaseIdleMemory();
            }
            check(b.kvBytesPerToken(config, KvCacheFormat.AUTO) == 4096, "fp16 by default");
            refused(() -> b.kvBytesPerToken(config, KvCacheFormat.of(KvCacheDtype.FP32)), "not fp32");
            refused(() -> m.defaultExecutorConfig(0.0), "must be in (0, 1]");
            refused(() -> m.defaultExecutorConfig(1.5), "must be in (0, 1]");
            refused(() -> m.defaultExecutorConfig(1e-7), "cannot hold one KV-cache block");
        }
        System.out.println(failures.isEmpty() ? "KV MEMORY SCENARIO PASSED" : "KV MEMORY SCENARIO FAILED: " + failures);
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    private static void refused(Runnable r, String fragment) {
        try {
            r.run();
            check(false, "accepted, expected an error with \"" + fragment + "\"");
        } catch (TinyrtException e) {
            check(e.getMessage().contains(fragment) && !e.getMessage().contains("\n"), "one-line error: "
                    + e.getMessage());
        }
    }

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            failures.add(what);
        }
    }
}
