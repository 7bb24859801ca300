package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.cli.Progress;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import dev.tinyrt.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A whole benchmark run: resolve backend, model and workload, check that every requested precision and the
 * baseline can run (before anything slow starts), run tinyrt at each precision, then the baseline on the same
 * requests, and collect it all into one {@link BenchmarkReport}. Models are closed before the next system
 * starts, so each system's memory is its own.
 */
public final class Benchmark {
    public static final List<Integer> GPU_BATCH_SIZES = List.of(1, 8, 32, 64);
    public static final List<Integer> GPU_INPUT_LENS = List.of(128, 512, 1024);
    public static final List<Integer> CPU_BATCH_SIZES = List.of(1, 8, 32);
    public static final List<Integer> CPU_INPUT_LENS = List.of(128, 512);

    private Benchmark() {
    }

    /** cpu or cuda: auto means cuda when an NVIDIA GPU answers through NVML. */
    public static String resolveBackend(String backend, Optional<Nvml> nvml) {
        String b = backend == null ? "auto" : backend.strip().toLowerCase(Locale.ROOT);
        return switch (b) {
            case "cpu", "cuda" -> b;
            case "auto" -> nvml.isPresent() ? "cuda" : "cpu";
            default -> throw new TinyrtException("unknown backend \"" + backend + "\"; choose cpu, cuda or auto");
        };
    }

    /** The bundled trained model on the CPU; the TinyLlama-1.1B-shaped checkpoint (generated once) on a GPU. */
    public static Path defaultModel(String backend) {
        return backend.equals("cuda") ? RandomCheckpoint.cachedPreset("tinyllama-1.1b", 0) : ProjectHome.defaultModel();
    }

    public static BenchmarkReport run(BenchmarkOptions o, PrintStream console) {
        Optional<Nvml> nvml = Nvml.open(0);
        try {
            return run(o, console, nvml);
        } finally {
            nvml.ifPresent(Nvml::close);
        }
    }

    private static BenchmarkReport run(BenchmarkOptions o, PrintStream console, Optional<Nvml> nvml) {
        String backend = resolveBackend(o.backend(), nvml);
        List<String> precisions = o.precisions().stream().map(ModelPreparation::normalize).distinct().toList();
        precisions.forEach(ModelPreparation::check);
        boolean hf = o.baseline() != null;
        if (hf && !o.baseline().equalsIgnoreCase("hf")) {
            throw new TinyrtException("unknown baseline \"" + o.baseline() + "\"; the one baseline is hf");
        }
        if (hf && o.engine() != null && o.model() == null) {
            throw new TinyrtException("--baseline hf with --engine needs --model: the HF checkpoint the engine was "
                    + "built from, which transformers loads");
        }
        if (hf) {
            HfBaseline.checkAvailable(o.python(), "--baseline hf");
        }
        Path model = o.model() != null ? o.model() : o.engine() != null ? o.engine() : defaultModel(backend);
        LlamaConfig config = LlamaConfig.read(model.resolve("config.json"));
        List<Integer> batchSizes = o.batchSizes() != null ? o.batchSizes()
                : backend.equals("cuda") ? GPU_BATCH_SIZES : CPU_BATCH_SIZES;
        List<Integer> inputLens = o.inputLens() != null ? o.inputLens()
                : backend.equals("cuda") ? GPU_INPUT_LENS : CPU_INPUT_LENS;
        List<PointPlan> points = plan(o, config, model, batchSizes, inputLens);

        Long gpuBaseline = nvml.map(Nvml::usedBytes).orElse(null);
        ObjectNode runInfo = RunInfo.collect(o.command());
        List<SystemInfo> systems = new ArrayList<>();
        List<PointResult> results = new ArrayList<>();
        long perSystem = points.stream().mapToLong(p -> (long) o.warmup() * p.warmupRequests().size()
                + (long) o.repeats() * p.requests().size()).sum();
        EngineBenchmark.Settings settings = new EngineBenchmark.Settings(o.warmup(), o.repeats(), o.maxNumTokens(),
                o.kvCacheTokens(), o.prefixCaching(), o.kvCacheFreeGpuMemFraction());
        try (Progress progress = Progress.start("benchmark", perSystem * precisions.size(), "req")) {
            for (String precision : precisions) {
                ModelPreparation.Prepared prepared = ModelPreparation.prepare(model, o.engine(), precision, backend,
                        o.threads());
                prepared = new ModelPreparation.Prepared(prepared.dir(),
                        prepared.options().withKvCacheDtype(o.kvCacheDtype()), prepared.precision());
                try (LoadedModel m = ModelPreparation.open(prepared)) {
                    systems.add(tinyrtSystem(m, backend, prepared, nvml));
                    results.addAll(EngineBenchmark.run(m, backend, prepared.precision(), points, settings,
                            nvml.orElse(null), gpuBaseline, progress));
                }
            }
        }
        BenchmarkReport report = new BenchmarkReport(BenchmarkReport.SCHEMA, runInfo.path("date").asText(),
                o.command(), runInfo.path("commit").isNull() ? null : runInfo.path("commit").asText(null),
                runInfo.path("worktree_clean").asBoolean(), runInfo.get("machine"), software(runInfo),
                nvml.map(Nvml::info).orElse(null), ModelInfo.of(model, config), workloadInfo(o, batchSizes,
                inputLens), systems, results);
        if (hf) {
            Path work = workDir(o);
            try {
                BenchmarkReport baseline = HfBaseline.run(o.python(), model, points, o.warmup(), o.repeats(),
                        o.seed(), work, work.resolve("hf_baseline.log"), console);
                report = report.with(baseline.systems(), baseline.results());
            } finally {
                if (o.workDir() == null) {
                    deleteTree(work);
                }
            }
        }
        return report;
    }

    private static List<PointPlan> plan(BenchmarkOptions o, LlamaConfig config, Path modelDir,
                                        List<Integer> batchSizes, List<Integer> inputLens) {
        List<Batching> modes = o.batching() == null || o.batching().isEmpty() ? List.of(Batching.INFLIGHT)
                : o.batching();
        if (o.dataset() == null) {
            return Workloads.synthetic(config, batchSizes, inputLens, o.outputLen(), o.requests(), o.concurrency(),
                    o.inputStdev(), o.outputStdev(), modes, o.seed());
        }
        Tokenizer tokenizer = Files.isRegularFile(modelDir.resolve("tokenizer.json"))
                ? LlamaTokenizer.load(modelDir) : null;
        try {
            return Workloads.fromDataset(config, Datasets.read(o.dataset(), tokenizer), batchSizes, o.requests(),
                    o.concurrency(), modes, o.seed());
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    private static SystemInfo tinyrtSystem(LoadedModel m, String backend, ModelPreparation.Prepared p,
                                           Optional<Nvml> nvml) {
        int threads = p.options().threads() > 0 ? p.options().threads() : Runtime.getRuntime().availableProcessors();
        String device = backend.equals("cuda") ? nvml.map(n -> n.info().name()).orElse("cuda")
                : RunInfo.cpuModel() + " (" + threads + " threads)";
        ObjectNode details = JsonNodeFactory.instance.objectNode();
        details.put("model_dir", p.dir().toAbsolutePath().toString());
        details.put("weights", p.options().precision().label());
        try (var kv = m.model().kvCache(1, 1)) {
            details.put("kv_cache_dtype", kv.dtype().label());  // as the backend stores it
        }
        if (backend.equals("cpu")) {
            details.put("threads", threads);
        }
        return new SystemInfo("tinyrt", backend, p.precision(), device, m.model().weightBytes(), details);
    }

    private static JsonNode software(ObjectNode runInfo) {
        ObjectNode s = JsonNodeFactory.instance.objectNode();
        s.set("java", runInfo.get("java"));
        return s;
    }

    private static WorkloadInfo workloadInfo(BenchmarkOptions o, List<Integer> batchSizes, List<Integer> inputLens) {
        String kind = o.dataset() != null ? "dataset"
                : o.inputStdev() == 0 && o.outputStdev() == 0 ? "fixed" : "token-norm-dist";
        List<String> modes = (o.batching() == null || o.batching().isEmpty() ? List.of(Batching.INFLIGHT)
                : o.batching()).stream().map(Batching::label).toList();
        return new WorkloadInfo(kind, o.dataset() == null ? null : o.dataset().toString(), o.seed(), batchSizes,
                o.dataset() == null ? inputLens : List.of(), o.dataset() == null ? o.outputLen() : null,
                o.inputStdev(), o.outputStdev(), o.requests(), o.concurrency(), o.warmup(), o.repeats(), modes);
    }

    /** Deletes a directory tree; a leftover temporary file is not worth failing a finished benchmark. */
    public static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("note: could not delete " + dir + ": " + e.getMessage());
        }
    }

    private static Path workDir(BenchmarkOptions o) {
        try {
            return o.workDir() != null ? Files.createDirectories(o.workDir())
                    : Files.createTempDirectory("tinyrt-benchmark-");
        } catch (IOException e) {
            throw new TinyrtException("cannot create a working directory: " + e.getMessage(), e);
        }
    }
}
