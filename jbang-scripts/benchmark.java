///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.bench.Batching;
import dev.tinyrt.bench.Benchmark;
import dev.tinyrt.bench.BenchmarkJson;
import dev.tinyrt.bench.BenchmarkOptions;
import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.Datasets;
import dev.tinyrt.bench.TokenNormDist;
import dev.tinyrt.bench.Workloads;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.report.BenchmarkCharts;
import dev.tinyrt.report.PointColumns;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "benchmark", mixinStandardHelpOptions = true, sortOptions = false,
        subcommands = benchmark.TokenNormDistCommand.class,
        description = {"Measure tinyrt as trtllm-bench does (TTFT, TPOT, latency percentiles, throughput, memory, "
                + "KV-cache use) over batch sizes and input lengths, optionally against HuggingFace transformers on "
                + "the same requests, and print a table. With no options: the bundled model on the CPU (batch "
                + "1,8,32; input 128,512; output 128), the TinyLlama-1.1B-shaped model on a GPU (batch 1,8,32,64; "
                + "input 128,512,1024; output 128).",
                "Make a trtllm-bench dataset: benchmark token-norm-dist --help"})
public class benchmark implements Callable<Integer> {
    @Option(names = "--precision", defaultValue = "fp16", split = ",",
            description = "fp32, fp16, bf16, int8, int4, int4_awq, w8a8_sq, fp8; a list runs each (default: fp16)")
    List<String> precisions;
    @Option(names = "--model", description = "HF checkpoint (default: bundled model on CPU, TinyLlama-1.1B-shaped on GPU)")
    Path model;
    @Option(names = "--engine", description = "open this engine / converted checkpoint directory as is") Path engine;
    @Option(names = "--backend", defaultValue = "auto", description = "cpu, cuda or auto (default: auto)") String backend;
    @Option(names = "--batch-sizes", split = ",", description = "max batch sizes to sweep, e.g. 1,8,32,64")
    List<Integer> batchSizes;
    @Option(names = "--input-lens", split = ",", description = "prompt lengths to sweep, e.g. 128,512,1024")
    List<Integer> inputLens;
    @Option(names = "--output-len", defaultValue = "128", description = "tokens generated per request (default: 128)")
    int outputLen;
    @Option(names = "--requests", description = "requests per point (default: one per concurrent slot)") Integer requests;
    @Option(names = "--concurrency", description = "requests kept in flight (default: the batch size)") Integer concurrency;
    @Option(names = "--dataset", description = "trtllm-bench dataset (JSON lines) instead of synthetic prompts")
    Path dataset;
    @Option(names = "--input-stdev", defaultValue = "0", description = "token-norm-dist spread of prompt lengths")
    double inputStdev;
    @Option(names = "--output-stdev", defaultValue = "0", description = "token-norm-dist spread of output lengths")
    double outputStdev;
    @Option(names = "--warmup", defaultValue = "1", description = "unmeasured warm-up runs per point (default: 1)")
    int warmup;
    @Option(names = "--repeats", defaultValue = "3", description = "measured runs per point (default: 3)") int repeats;
    @Option(names = "--batching", defaultValue = "inflight", split = ",",
            description = "inflight, static or both: inflight,static (default: inflight)")
    List<String> batching;
    @Option(names = "--baseline", description = "hf: also run HuggingFace transformers on the same requests")
    String baseline;
    @Option(names = "--python", defaultValue = "python3", description = "interpreter for --baseline hf") String python;
    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0 = one per core)") int threads;
    @Option(names = "--kv-cache-dtype", defaultValue = "auto", description = "KV-cache storage: auto (the checkpoint's "
            + "kv_cache_quant_algo, else fp32 on CPU / fp16 on CUDA), fp16, fp32, int8, fp8 (int8/fp8 scales from the "
            + "checkpoint, else calibrated on data/calibration/calib.txt)") String kvCacheDtype;
    @Option(names = "--seed", defaultValue = "0", description = "seed of the synthetic prompts") long seed;
    @Option(names = "--max-num-tokens", description = "tokens per executor step (default: the engine's)")
    Integer maxNumTokens;
    @Option(names = "--kv-cache-tokens", description = "KV-cache capacity (default: what the point needs)")
    Integer kvCacheTokens;
    @Option(names = "--kv-cache-free-gpu-mem-fraction", defaultValue = "0.9",
            description = "CUDA: share of free GPU memory the KV cache may take (default: 0.9)")
    double kvCacheFreeGpuMemFraction;
    @Option(names = "--prefix-caching", description = "reuse cached prompt blocks (off: repeats send the same prompts)")
    boolean prefixCaching;
    @Option(names = "--out", description = "write the results JSON here") Path out;
    @Option(names = "--out-dir", description = "write the results JSON (and the HF baseline's log) into this directory")
    Path outDir;
    @Option(names = "--charts", description = "write Plotly charts (HTML, and PNG when chromium is installed) here")
    Path charts;
    @Spec CommandSpec spec;

    public static void main(String... args) {
        CommandRunner.exit(new benchmark(), args);
    }

    @Override
    public Integer call() throws Exception {
        String command = "jbang jbang-scripts/benchmark.java " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        Path work = outDir != null ? Files.createTempDirectory("tinyrt-benchmark-") : null;
        BenchmarkOptions options = new BenchmarkOptions(model, engine, precisions, backend, batchSizes, inputLens,
                outputLen, requests, concurrency, dataset, inputStdev, outputStdev, warmup, repeats,
                batching.stream().map(Batching::parse).distinct().toList(), baseline, python, threads, seed,
                maxNumTokens, kvCacheTokens, prefixCaching, work, command, kvCacheFreeGpuMemFraction,
                KvCacheDtype.parse(kvCacheDtype));
        BenchmarkReport report;
        try {
            report = Benchmark.run(options, System.err);
        } finally {
            // the baseline's log goes to --out-dir whether it succeeded or not
            if (work != null && Files.exists(work.resolve("hf_baseline.log"))) {
                Files.createDirectories(outDir);
                Files.copy(work.resolve("hf_baseline.log"), outDir.resolve("hf_baseline.log"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            Benchmark.deleteTree(work);
        }
        System.out.print(PointColumns.text(report));
        if (out != null) {
            BenchmarkJson.write(out, report);
            System.err.println("results: " + out);
        }
        if (outDir != null) {
            Path file = outDir.resolve(fileName(report));
            BenchmarkJson.write(file, report);
            System.err.println("results: " + file);
        }
        if (out == null && outDir == null) {
            System.err.println("(results not saved: add --out FILE or --out-dir DIR)");
        }
        if (charts != null) {
            for (Path p : BenchmarkCharts.write(List.of(report), charts)) {
                System.err.println("chart: " + p);
            }
        }
        return 0;
    }

    /**
     * benchmark_BACKEND_MODEL_PRECISIONS_WORKLOAD[_vs-hf].json, e.g.
     * benchmark_cuda_tinyllama-1.1b-seed0-fp16_fp16_in128-512-1024_vs-hf.json: runs that split a sweep (other
     * input lengths, another dataset) get files of their own.
     */
    static String fileName(BenchmarkReport r) {
        String backend = r.results().stream().filter(p -> p.system().equals("tinyrt")).map(p -> p.backend())
                .findFirst().orElse("none");
        String precisions = String.join("-", r.systems().stream().filter(s -> s.name().equals("tinyrt"))
                .map(s -> s.precision()).toList());
        String workload = r.workload().dataset() != null
                ? "dataset-" + Path.of(r.workload().dataset()).getFileName().toString().replaceFirst("\\.[^.]*$", "")
                : "in" + String.join("-", r.workload().inputLens().stream().map(String::valueOf).toList());
        boolean hf = r.systems().stream().anyMatch(s -> s.name().equals("hf"));
        return ("benchmark_" + backend + "_" + r.model().name() + "_" + precisions + "_" + workload
                + (hf ? "_vs-hf" : "") + ".json").replaceAll("[^A-Za-z0-9._-]", "-");
    }

    @Command(name = "token-norm-dist", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Write a trtllm-bench dataset of random non-special token ids with normally distributed "
                    + "lengths (prepare_dataset.py token-norm-dist; stdev 0 gives fixed lengths).")
    static class TokenNormDistCommand implements Callable<Integer> {
        @Option(names = "--num-requests", required = true) int numRequests;
        @Option(names = "--input-mean", required = true) int inputMean;
        @Option(names = "--input-stdev", defaultValue = "0") double inputStdev;
        @Option(names = "--output-mean", required = true) int outputMean;
        @Option(names = "--output-stdev", defaultValue = "0") double outputStdev;
        @Option(names = "--min-len", defaultValue = "1", description = "shortest length drawn") int minLen;
        @Option(names = "--max-input", description = "longest prompt drawn (default: unbounded)") Integer maxInput;
        @Option(names = "--max-output", description = "longest output drawn (default: unbounded)") Integer maxOutput;
        @Option(names = "--model", description = "take vocabulary size and special ids from this model (default: the bundled one)")
        Path model;
        @Option(names = "--seed", defaultValue = "0") long seed;
        @Option(names = "--shared-prefix", defaultValue = "0",
                description = "tokens every prompt starts with (a shared system prompt; needs --min-len above it)")
        int sharedPrefix;
        @Option(names = "--out", required = true, description = "JSON-lines file to write") Path out;

        @Override
        public Integer call() {
            Path dir = model != null ? model : ProjectHome.defaultModel();
            LlamaConfig c = LlamaConfig.read(dir.resolve("config.json"));
            Set<Integer> specials = Workloads.specialIds(c);
            var requests = new TokenNormDist(numRequests, inputMean, inputStdev, outputMean, outputStdev, minLen,
                    maxInput != null ? maxInput : Integer.MAX_VALUE, maxOutput != null ? maxOutput : Integer.MAX_VALUE,
                    c.vocabSize(), specials, seed).generate(sharedPrefix);
            Datasets.write(out, requests);
            System.out.printf("%s: %d requests, mean input %.1f, mean output %.1f tokens%n", out, requests.size(),
                    requests.stream().mapToInt(r -> r.inputLength()).average().orElse(0),
                    requests.stream().mapToInt(r -> r.outputTokens()).average().orElse(0));
            return 0;
        }
    }
}
