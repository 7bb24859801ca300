///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//JAVA_OPTIONS -XX:NativeMemoryTracking=summary -Xms3g -Xmx3g -XX:+AlwaysPreTouch
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.memory.AnalysisSettings;
import dev.tinyrt.memory.MemoryAnalysis;
import dev.tinyrt.memory.MemoryReport;
import dev.tinyrt.memory.WeightPrecision;
import dev.tinyrt.memory.Workloads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "memory_analysis", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Where an engine's memory goes, computed and measured: weights per precision, KV cache per "
                + "token and as allocated, activations, the process (CPU: heap, RSS, NMT) or device (CUDA: "
                + "cuMemGetInfo); standard (contiguous, max_seq_len per sequence) against paged KV allocation by "
                + "running both over the same budget; prefix reuse; KV dtypes; a capacity planner checked against "
                + "real runs. Writes JSON to data/results and a Markdown report with Plotly charts (HTML + PNG).",
                "Default: the bundled tinyrt-12m on the CPU."})
public class memory_analysis implements Callable<Integer> {
    @Option(names = "--model", description = "HF checkpoint directory (default: data/models/tinyrt-12m)") Path model;
    @Option(names = "--engine", description = "a TensorRT-LLM checkpoint directory, analysed as it is") Path engine;
    @Option(names = "--precision", split = ",", description = "weight precisions to break down, the first one runs "
            + "the workloads: auto, fp32, fp16, bf16, int8, int4, int4_awq, w8a8_sq, fp8 (default: auto,fp32,fp16,"
            + "bf16,int8,int4; with --engine: the engine's own)") List<String> precisions;
    @Option(names = "--backend", defaultValue = "cpu", description = "cpu or cuda (default ${DEFAULT-VALUE})") String backend;
    @Option(names = "--budget-gib", description = "KV-cache budget of the comparison runs in GiB (default: room for "
            + "8 sequences of max_seq_len)") Double budgetGib;
    @Option(names = "--dataset", description = "trtllm-bench dataset (JSON lines with input_ids and output_tokens) "
            + "instead of the ShareGPT-like lognormal mix") Path dataset;
    @Option(names = "--requests", defaultValue = "64", description = "requests per workload (default ${DEFAULT-VALUE})") int requests;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--lognormal", split = ",", paramLabel = "IN_MEDIAN,IN_SIGMA,OUT_MEDIAN,OUT_SIGMA",
            description = "lognormal lengths (default: ShareGPT's shape, medians 98 and 205 at a 2048 context, scaled "
                    + "to max_seq_len)") List<Double> lognormal;
    @Option(names = "--length-scale", defaultValue = "1.0", description = "scale the lognormal medians (shorter runs)") double lengthScale;
    @Option(names = "--fixed", split = ",", defaultValue = "128,128", paramLabel = "IN,OUT",
            description = "lengths of the fixed-length workload (default ${DEFAULT-VALUE})") List<Integer> fixed;
    @Option(names = "--block-sizes", split = ",", defaultValue = "8,16,32,64,128",
            description = "paged block sizes to run (default ${DEFAULT-VALUE})") List<Integer> blockSizes;
    @Option(names = "--system-prompt", defaultValue = "0", description = "tokens of the shared system prompt of the "
            + "prefix-reuse runs (default: max_seq_len / 8)") int systemPrompt;
    @Option(names = "--max-batch-size", defaultValue = "256") int maxBatchSize;
    @Option(names = "--max-seq-len", defaultValue = "0", description = "default: the model's context") int maxSeqLen;
    @Option(names = "--activation-tokens", defaultValue = "0", description = "tokens of the measured activation step "
            + "(default: max_seq_len)") int activationTokens;
    @Option(names = "--verify-budgets", split = ",", defaultValue = "0.5,2",
            description = "KV budgets (x --budget-gib) where the planner is checked by real runs (default ${DEFAULT-VALUE})")
    List<Double> verify;
    @Option(names = "--sweep-budgets", split = ",", defaultValue = "0.25,0.5,1,2,4",
            description = "KV budgets (x --budget-gib) of the concurrency sweep (default ${DEFAULT-VALUE})") List<Double> sweep;
    @Option(names = "--plan-gib", split = ",", description = "memory sizes the planner answers for (default: the "
            + "device's memory on cuda, none on cpu)") List<Double> planGib;
    @Option(names = "--calib-data", description = "calibration text for int4_awq, w8a8_sq, fp8 (default: "
            + "data/calibration/calib.txt)") Path calibData;
    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0 = one per core)") int threads;
    @Option(names = "--kv-cache-dtype", defaultValue = "auto", description = "KV-cache storage of the analysed engine: "
            + "auto (the checkpoint's, else fp32 on CPU / fp16 on CUDA), fp16, fp32, int8, fp8; section 5 measures "
            + "all four either way") String kvCacheDtype;
    @Option(names = "--results", description = "directory of the JSON result (default: data/results)") Path results;
    @Option(names = "--out", description = "report directory (default: build/memory/<json name>)") Path out;
    @Option(names = "--no-png", description = "skip the PNG screenshots (they need chromium)") boolean noPng;
    @Option(names = "--no-html", description = "keep only the PNG charts (the HTML pages inline plotly.js, 4.5 MB each)")
    boolean noHtml;
    @Option(names = "--no-report", description = "write the JSON only (e.g. on the GPU machine; render it later with "
            + "--render)") boolean noReport;
    @Option(names = "--render", paramLabel = "JSON", description = "only render the report of an existing result") Path render;
    @Spec CommandSpec spec;

    public static void main(String... args) {
        CommandRunner.exit(new memory_analysis(), args);
    }

    @Override
    public Integer call() throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        if (render != null) {
            if (!Files.isRegularFile(render)) {
                throw new TinyrtException("result file not found: " + render);
            }
            JsonNode doc = json.readTree(render.toFile());
            Path dir = out != null ? out : reportDir(render);
            System.out.println("wrote " + MemoryReport.write(doc, dir, !noPng, !noHtml));
            return 0;
        }
        Path work = Files.createTempDirectory("tinyrt-memory-");
        AnalysisSettings settings = settings(work);
        ObjectNode provenance = RunInfo.collect("jbang jbang-scripts/memory_analysis.java "
                + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        ObjectNode doc = new MemoryAnalysis(settings, System.out).run(provenance);
        Path dir = results != null ? results : ProjectHome.require().resolve("data/results");
        Path file = dir.resolve("memory_" + doc.path("model").path("name").asText() + "_" + doc.path("backend").asText()
                + "_" + LocalDate.now(ZoneOffset.UTC) + ".json");
        Files.createDirectories(dir);
        Files.writeString(file, json.writeValueAsString(doc) + "\n");
        System.out.println("wrote " + file);
        if (!noReport) {
            System.out.println("wrote " + MemoryReport.write(doc, out != null ? out : reportDir(file), !noPng,
                    !noHtml));
        }
        return 0;
    }

    private AnalysisSettings settings(Path work) {
        Path hf = engine == null ? (model != null ? model : ProjectHome.defaultModel()) : null;
        if (engine != null && model != null) {
            throw new TinyrtException("give --model or --engine, not both");
        }
        AnalysisSettings d = AnalysisSettings.defaults(hf, engine, work);
        List<WeightPrecision> p = precisions != null ? precisions.stream().map(WeightPrecision::parse).toList()
                : engine != null ? List.of(WeightPrecision.AUTO) : d.precisions();
        Workloads.Lognormal shape = null;
        if (lognormal != null) {
            if (lognormal.size() != 4) {
                throw new TinyrtException("--lognormal takes IN_MEDIAN,IN_SIGMA,OUT_MEDIAN,OUT_SIGMA");
            }
            shape = new Workloads.Lognormal(lognormal.get(0), lognormal.get(1), lognormal.get(2), lognormal.get(3));
        }
        if (lengthScale <= 0) {
            throw new TinyrtException("--length-scale must be > 0");
        }
        Path calib = calibData != null ? calibData
                : ProjectHome.find().map(h -> h.resolve("data/calibration/calib.txt")).filter(Files::isRegularFile)
                .orElse(null);
        double gib = 1024.0 * 1024 * 1024;
        return new AnalysisSettings(hf, engine, backend, threads, p, budgetGib == null ? 0 : (long) (budgetGib * gib),
                dataset, requests, seed, shape, lengthScale, fixed.stream().mapToInt(Integer::intValue).toArray(),
                blockSizes, systemPrompt, maxBatchSize, maxSeqLen, activationTokens, verify, sweep,
                planGib == null ? List.of() : planGib.stream().map(g -> (long) (g * gib)).toList(), calib, work,
                KvCacheDtype.parse(kvCacheDtype));
    }

    private static Path reportDir(Path resultFile) {
        String name = resultFile.getFileName().toString().replaceFirst("\\.json$", "");
        return ProjectHome.find().orElse(Path.of("")).resolve("build/memory").resolve(name);
    }
}
