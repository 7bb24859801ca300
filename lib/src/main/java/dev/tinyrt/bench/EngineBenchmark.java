package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.cli.Progress;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs the workload's points on one loaded tinyrt model. Each point gets a fresh executor (max_batch_size = the
 * point's batch size, a KV cache sized for its concurrent requests, prefix reuse off unless asked for: repeats
 * send the same prompts, and reusing their cached blocks would flatter every repeat after the first), then
 * warm-up runs, then the measured repeats.
 */
public final class EngineBenchmark {
    /** Longest output of a warm-up run: enough to compile and touch every path, short enough to be cheap. */
    public static final int WARMUP_OUTPUT_TOKENS = 32;

    /**
     * @param maxNumTokens  tokens per step (null: the engine's default)
     * @param kvCacheTokens KV-cache capacity (null: what the point's concurrent requests need, within the engine's
     *                      default capacity)
     * @param kvCacheFreeGpuMemFraction on CUDA, the share of free GPU memory that caps the KV cache
     */
    public record Settings(int warmup, int repeats, Integer maxNumTokens, Integer kvCacheTokens,
                           boolean prefixCaching, double kvCacheFreeGpuMemFraction) {
        public Settings {
            if (warmup < 0 || repeats < 1) {
                throw new TinyrtException("need --warmup >= 0 and --repeats >= 1, got " + warmup + " and " + repeats);
            }
        }
    }

    private EngineBenchmark() {
    }

    public static List<PointResult> run(LoadedModel model, String backend, String precision, List<PointPlan> points,
                                        Settings settings, Nvml nvml, Long gpuBaseline, Progress progress) {
        List<PointResult> results = new ArrayList<>();
        for (PointPlan p : points) {
            // short: a long message leaves the bar no room on an 80-column terminal
            progress.message(precision + " bs=" + p.batchSize() + " in=" + p.inputLen()
                    + (p.batching() == Batching.STATIC ? " static" : ""));
            results.add(point(model, backend, precision, p, settings, backend.equals("cuda") ? nvml : null,
                    gpuBaseline, progress));
        }
        return results;
    }

    static ExecutorConfig executorConfig(LoadedModel model, PointPlan p, Settings s) {
        // sized for the point's batch: the default (or an engine's build limit, e.g. 64) would cap the cache at that
        // many full-context sequences and quietly run a max batch of 1024 with fewer in flight
        ExecutorConfig d = model.defaultExecutorConfig(s.kvCacheFreeGpuMemFraction(), p.batchSize());
        int block = d.tokensPerBlock();
        int perSequence = (p.longestSequence() + block - 1) / block * block;
        int needed = perSequence * p.concurrency();
        int kv = s.kvCacheTokens() != null ? s.kvCacheTokens() : Math.min(needed, Math.max(d.kvCacheTokens(), perSequence));
        if (kv < perSequence) {
            throw new TinyrtException("a KV cache of " + kv + " tokens cannot hold one request of "
                    + p.longestSequence() + " tokens");
        }
        int maxInput = Math.max(d.maxInputLen(), p.longestPrompt());
        int maxNumTokens = s.maxNumTokens() != null ? s.maxNumTokens() : d.maxNumTokens();
        return new ExecutorConfig(p.batchSize(), maxNumTokens, maxInput, kv, block, s.prefixCaching(),
                ExecutorConfig.Policy.GUARANTEED_NO_EVICT);
    }

    private static PointResult point(LoadedModel model, String backend, String precision, PointPlan p, Settings s,
                                     Nvml nvml, Long gpuBaseline, Progress progress) {
        ExecutorConfig config = executorConfig(model, p, s);
        if (config.kvCacheTokens() < (long) p.longestSequence() * p.concurrency()) {
            System.err.println("note: the KV cache holds " + config.kvCacheTokens() + " tokens, fewer than "
                    + p.concurrency() + " concurrent requests of " + p.longestSequence() + " need: fewer run at once");
        }
        List<RunMetrics> runs = new ArrayList<>();
        List<double[]> gaps = new ArrayList<>();
        KvCacheMonitor kv = new KvCacheMonitor(config.kvCacheTokens(), config.tokensPerBlock(), config.numBlocks());
        MemorySampler.Peaks peaks;
        try (MemorySampler sampler = new MemorySampler(nvml); Executor executor = model.executor(config)) {
            for (int w = 0; w < s.warmup(); w++) {
                ExecutorRun.run(executor, p.warmupRequests(), p.concurrency(), p.batching(), () -> progress.step(1));
            }
            executor.onStep(kv);
            for (int r = 0; r < s.repeats(); r++) {
                ExecutorRun.Outcome o = ExecutorRun.run(executor, p.requests(), p.concurrency(), p.batching(),
                        () -> progress.step(1));
                runs.add(RunMetrics.of(o.timings(), o.itlGapsMs()));
                gaps.add(o.itlGapsMs());
            }
            executor.onStep(null);
            peaks = sampler.stop();
        }
        MemoryUsage memory = new MemoryUsage(peaks.rssBytes(), peaks.heapBytes(), model.model().weightBytes(),
                kvCacheBytes(model.config(), config), peaks.gpuUsedBytes(), nvml == null ? null : gpuBaseline, null);
        return new PointResult("tinyrt", backend, precision, p.batching().label(), p.batchSize(), p.concurrency(),
                p.inputLen(), p.outputLen(), p.requests().size(), ExecutorSettings.of(config,
                        model.model().kvCacheFormat(config.kvCacheDtype()).dtype()), s.warmup(), runs,
                PointSummary.of(runs), memory, kv.stats(), Histogram.of(concat(gaps), 40));
    }

    /**
     * Bytes of the KV cache: keys and values of every layer, fp32 as the CPU cache stores them. (The executor
     * does not expose its cache; when it does, take {@code KvCache.totalBytes()} instead — a GPU cache in fp16 or
     * int8 is smaller.)
     */
    static long kvCacheBytes(LlamaConfig c, ExecutorConfig config) {
        return (long) config.numBlocks() * config.tokensPerBlock() * 2L * c.numLayers() * c.kvDim() * Float.BYTES;
    }

    private static double[] concat(List<double[]> parts) {
        return parts.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
    }
}
