package dev.tinyrt.bench;

import dev.tinyrt.backend.KvCacheDtype;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything benchmark.java can be told; null means "the default for this backend" (see {@link Benchmark}).
 *
 * @param model       HF checkpoint (null: the bundled model on the CPU, the TinyLlama-1.1B-shaped one on a GPU)
 * @param engine      an engine or converted checkpoint directory to open as is (skips conversion)
 * @param backend     cpu, cuda or auto (cuda when an NVIDIA GPU is present)
 * @param requests    requests per point (null: one per concurrent slot)
 * @param concurrency requests in flight (null: the batch size)
 * @param dataset     a trtllm-bench dataset (JSON lines) instead of synthetic requests
 * @param baseline    "hf" to run the HuggingFace transformers baseline on the same workload, or null
 * @param workDir     where datasets and the baseline's files go (null: a temporary directory)
 * @param command     the command line, recorded in the results
 * @param kvCacheFreeGpuMemFraction on CUDA, the share of free GPU memory that caps the KV cache
 * @param kvCacheDtype KV-cache storage of the tinyrt engine (auto: the checkpoint's, else the backend's own)
 */
public record BenchmarkOptions(Path model, Path engine, List<String> precisions, String backend,
                               List<Integer> batchSizes, List<Integer> inputLens, int outputLen, Integer requests,
                               Integer concurrency, Path dataset, double inputStdev, double outputStdev, int warmup,
                               int repeats, List<Batching> batching, String baseline, String python, int threads,
                               long seed, Integer maxNumTokens, Integer kvCacheTokens, boolean prefixCaching,
                               Path workDir, String command, double kvCacheFreeGpuMemFraction,
                               KvCacheDtype kvCacheDtype) {

    public BenchmarkOptions(Path model, Path engine, List<String> precisions, String backend,
                            List<Integer> batchSizes, List<Integer> inputLens, int outputLen, Integer requests,
                            Integer concurrency, Path dataset, double inputStdev, double outputStdev, int warmup,
                            int repeats, List<Batching> batching, String baseline, String python, int threads,
                            long seed, Integer maxNumTokens, Integer kvCacheTokens, boolean prefixCaching,
                            Path workDir, String command, double kvCacheFreeGpuMemFraction) {
        this(model, engine, precisions, backend, batchSizes, inputLens, outputLen, requests, concurrency, dataset,
                inputStdev, outputStdev, warmup, repeats, batching, baseline, python, threads, seed, maxNumTokens,
                kvCacheTokens, prefixCaching, workDir, command, kvCacheFreeGpuMemFraction, KvCacheDtype.AUTO);
    }

    public BenchmarkOptions(Path model, Path engine, List<String> precisions, String backend,
                            List<Integer> batchSizes, List<Integer> inputLens, int outputLen, Integer requests,
                            Integer concurrency, Path dataset, double inputStdev, double outputStdev, int warmup,
                            int repeats, List<Batching> batching, String baseline, String python, int threads,
                            long seed, Integer maxNumTokens, Integer kvCacheTokens, boolean prefixCaching,
                            Path workDir, String command, KvCacheDtype kvCacheDtype) {
        this(model, engine, precisions, backend, batchSizes, inputLens, outputLen, requests, concurrency, dataset,
                inputStdev, outputStdev, warmup, repeats, batching, baseline, python, threads, seed, maxNumTokens,
                kvCacheTokens, prefixCaching, workDir, command,
                dev.tinyrt.runtime.ExecutorConfig.DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION, kvCacheDtype);
    }

    public BenchmarkOptions(Path model, Path engine, List<String> precisions, String backend,
                            List<Integer> batchSizes, List<Integer> inputLens, int outputLen, Integer requests,
                            Integer concurrency, Path dataset, double inputStdev, double outputStdev, int warmup,
                            int repeats, List<Batching> batching, String baseline, String python, int threads,
                            long seed, Integer maxNumTokens, Integer kvCacheTokens, boolean prefixCaching,
                            Path workDir, String command) {
        this(model, engine, precisions, backend, batchSizes, inputLens, outputLen, requests, concurrency, dataset,
                inputStdev, outputStdev, warmup, repeats, batching, baseline, python, threads, seed, maxNumTokens,
                kvCacheTokens, prefixCaching, workDir, command, KvCacheDtype.AUTO);
    }
}
