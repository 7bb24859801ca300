package dev.tinyrt.scripts;

import dev.tinyrt.bench.BenchRequest;
import dev.tinyrt.bench.BenchmarkJson;
import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.bench.Datasets;
import dev.tinyrt.bench.PointResult;
import dev.tinyrt.bench.RequestTiming;
import dev.tinyrt.bench.RunMetrics;
import dev.tinyrt.checkpoint.ConfigOverrides;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jbang-scripts/benchmark.java end to end on a tiny random model (CPU). */
class BenchmarkScriptTest {
    @TempDir
    static Path tmp;
    static Path model;

    @BeforeAll
    static void tinyModel() {
        model = tmp.resolve("tiny");
        LlamaConfig shape = new ConfigOverrides(512, null, null, null, null, null, null, null, null, null, null)
                .apply(RandomCheckpoint.preset("tiny"));
        RandomCheckpoint.write(shape,
                new RandomCheckpoint.Options(3, DType.F16, 0.02, 0.0, LlamaConfig.Spelling.HF4, null), model);
    }

    @Test
    void sweepsBatchSizesInFlightAndStaticAndWritesTheSchema() {
        Path out = tmp.resolve("sweep.json");
        ScriptHarness.Result r = ScriptHarness.run("benchmark.java", "--model", model.toString(), "--backend", "cpu",
                "--batch-sizes", "1,2", "--input-lens", "8", "--output-len", "4", "--requests", "3",
                "--warmup", "1", "--repeats", "2", "--batching", "inflight,static", "--threads", "2",
                "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("out tok/s") && r.out().contains("static"), r.out());
        BenchmarkReport report = BenchmarkJson.read(out);
        assertEquals(4, report.results().size());
        assertEquals("tiny", report.model().name());
        assertEquals(List.of("tinyrt"), report.systems().stream().map(s -> s.name()).toList());
        for (PointResult p : report.results()) {
            assertEquals(2, p.repeats().size());
            assertEquals(p.batchSize(), p.executor().maxBatchSize());
            assertEquals(p.batchSize(), p.concurrency());
            for (RunMetrics run : p.repeats()) {
                assertEquals(3, run.requests().size());
                for (RequestTiming t : run.requests()) {
                    assertEquals(8, t.inputTokens());
                    assertEquals(4, t.outputTokens());  // EOS ignored: exactly the requested length
                    assertTrue(0 <= t.startMs() && t.startMs() <= t.firstTokenMs() && t.firstTokenMs() <= t.endMs());
                }
                assertEquals(12.0 / (run.performance().totalLatencyMs() / 1e3),
                        run.performance().systemOutputThroughputTokS(), 1e-6);
                assertTrue(run.streamingMetrics().itlPercentiles().minimum() > 0);
            }
            assertTrue(p.memory().peakRssBytes() > p.memory().weightsBytes());
            assertTrue(p.kvCache().peakUsedBlocks() > 0 && p.kvCache().steps() > 0);
            assertEquals(2 * 3 * 3L, p.itlHistogramMs().counts().stream().mapToLong(Long::longValue).sum());
        }
        // in static mode the second wave of batch size 2 starts only after the first finished
        PointResult stat = report.results().stream().filter(p -> p.batching().equals("static") && p.batchSize() == 2)
                .findFirst().orElseThrow();
        List<RequestTiming> reqs = stat.repeats().getFirst().requests();
        assertTrue(reqs.get(2).startMs() >= Math.max(reqs.get(0).endMs(), reqs.get(1).endMs()), reqs.toString());
    }

    @Test
    void runsADatasetMadeByTheTokenNormDistGenerator() {
        Path data = tmp.resolve("data.jsonl");
        ScriptHarness.Result gen = ScriptHarness.run("benchmark.java", "token-norm-dist", "--model", model.toString(),
                "--num-requests", "5", "--input-mean", "10", "--input-stdev", "3", "--output-mean", "5",
                "--output-stdev", "1", "--min-len", "2", "--seed", "4", "--out", data.toString());
        assertEquals(0, gen.exitCode(), gen.err());
        List<BenchRequest> requests = Datasets.read(data, null);
        assertEquals(5, requests.size());
        Path out = tmp.resolve("dataset.json");
        ScriptHarness.Result r = ScriptHarness.run("benchmark.java", "--model", model.toString(), "--backend", "cpu",
                "--dataset", data.toString(), "--batch-sizes", "2", "--warmup", "0", "--repeats", "1",
                "--threads", "2", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        BenchmarkReport report = BenchmarkJson.read(out);
        assertEquals("dataset", report.workload().kind());
        List<RequestTiming> timings = report.results().getFirst().repeats().getFirst().requests();
        for (int i = 0; i < requests.size(); i++) {
            assertEquals(requests.get(i).inputLength(), timings.get(i).inputTokens());
            assertEquals(requests.get(i).outputTokens(), timings.get(i).outputTokens());
        }
    }

    @Test
    void aQuantizedKvCacheIsRecordedAsItRanAndLabelsItsRows() {
        // the bundled model: int8 KV scales are calibrated on its tokenizer's text
        Path out = tmp.resolve("kv-int8.json");
        ScriptHarness.Result r = ScriptHarness.run("benchmark.java", "--model",
                dev.tinyrt.ProjectHome.defaultModel().toString(), "--backend", "cpu",
                "--batch-sizes", "1", "--input-lens", "8", "--output-len", "2", "--requests", "1", "--warmup", "0",
                "--repeats", "1", "--threads", "2", "--kv-cache-dtype", "int8", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        PointResult p = BenchmarkJson.read(out).results().getFirst();
        assertEquals("int8", p.executor().kvCacheDtype());
        assertEquals("tinyrt " + p.precision() + " KV-int8", p.label());
    }

    @Test
    void outDirNamesTheFileAfterBackendModelAndPrecision() throws Exception {
        Path dir = tmp.resolve("outdir");
        ScriptHarness.Result r = ScriptHarness.run("benchmark.java", "--model", model.toString(), "--backend", "cpu",
                "--precision", "fp32", "--batch-sizes", "1", "--input-lens", "4", "--output-len", "2", "--warmup", "0",
                "--repeats", "1", "--threads", "1", "--out-dir", dir.toString());
        assertEquals(0, r.exitCode(), r.err());
        Path file = dir.resolve("benchmark_cpu_tiny_fp32_in4.json");
        assertTrue(Files.isRegularFile(file), r.err());
        assertNotNull(BenchmarkJson.read(file).systems().getFirst().weightsBytes());
        assertEquals("fp32", BenchmarkJson.read(file).results().getFirst().precision());
    }

    @Test
    void baselineRunsOnTheSameRequestsAndJoinsTheReport() throws Exception {
        // python3 with a numpy test double of torch/transformers (src/test/resources/fake_hf) stands in for the
        // GPU machine's python: what is checked is the hand-over, not transformers itself
        Path fake = Path.of("src", "test", "resources", "fake_hf").toAbsolutePath();
        Path prompts = tmp.resolve("hf_prompts.jsonl");
        Path python = tmp.resolve("python-with-fake-hf");
        Files.writeString(python, "#!/bin/sh\nPYTHONPATH='" + fake + "' FAKE_HF_LOG='" + prompts
                + "' PYTHONDONTWRITEBYTECODE=1 exec python3 \"$@\"\n");
        assertTrue(python.toFile().setExecutable(true));
        Path dir = tmp.resolve("vs-hf");
        ScriptHarness.Result r = ScriptHarness.run("benchmark.java", "--model", model.toString(), "--backend", "cpu",
                "--batch-sizes", "1,2", "--input-lens", "6", "--output-len", "3", "--requests", "2", "--warmup", "1",
                "--repeats", "2", "--threads", "1", "--baseline", "hf", "--python", python.toString(),
                "--out-dir", dir.toString());
        org.junit.jupiter.api.Assumptions.assumeFalse(r.err().contains("No module named 'numpy'"), "needs numpy");
        assertEquals(0, r.exitCode(), r.err());
        try (var files = Files.list(dir)) {  // datasets and plan stay in a temporary directory, removed after
            assertEquals(List.of("benchmark_cpu_tiny_fp16_in6_vs-hf.json", "hf_baseline.log"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        assertTrue(Files.readString(dir.resolve("hf_baseline.log")).contains("wrote "));
        BenchmarkReport report = BenchmarkJson.read(dir.resolve("benchmark_cpu_tiny_fp16_in6_vs-hf.json"));
        assertEquals(List.of("tinyrt", "hf"), report.systems().stream().map(s -> s.name()).toList());
        List<PointResult> hf = report.results().stream().filter(p -> p.system().equals("hf")).toList();
        assertEquals(List.of(1, 2), hf.stream().map(PointResult::batchSize).toList());
        assertTrue(r.out().lines().anyMatch(l -> l.strip().startsWith("hf ") && l.contains("static")), r.out());
        // HF generated from exactly the prompts tinyrt served
        List<String> logged = Files.readAllLines(prompts);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        java.util.Set<List<Integer>> hfPrompts = new java.util.HashSet<>();
        for (String line : logged) {
            for (var row : json.readTree(line)) {
                List<Integer> ids = new java.util.ArrayList<>();
                row.forEach(id -> ids.add(id.asInt()));
                hfPrompts.add(ids);
            }
        }
        LlamaConfig c = LlamaConfig.read(model.resolve("config.json"));
        for (var point : dev.tinyrt.bench.Workloads.synthetic(c, List.of(1, 2), List.of(6), 3, 2, null, 0, 0,
                List.of(dev.tinyrt.bench.Batching.INFLIGHT), 0)) {
            for (BenchRequest req : point.requests()) {
                assertTrue(hfPrompts.contains(java.util.Arrays.stream(req.inputIds()).boxed().toList()),
                        "HF served request " + req.taskId());
            }
        }
        for (PointResult p : hf) {
            assertEquals(3, p.repeats().getFirst().requests().getFirst().outputTokens());
            assertEquals(6, p.repeats().getFirst().requests().getFirst().inputTokens());
        }
    }

    @Test
    void quantizedPrecisionsConvertIntoTheCacheAndSayWhatIsMissing() {
        // converted with configs/tinyllama_int8.yaml into the cache; runs once the CPU backend has int8 kernels
        System.setProperty("tinyrt.cache", tmp.resolve("cache").toString());
        try {
            ScriptHarness.Result r = ScriptHarness.run("benchmark.java", "--model", model.toString(), "--backend",
                    "cpu", "--precision", "int8", "--batch-sizes", "1", "--input-lens", "4", "--output-len", "2",
                    "--warmup", "0", "--repeats", "1", "--out", tmp.resolve("int8.json").toString());
            if (r.exitCode() == 0) {
                assertEquals("int8", BenchmarkJson.read(tmp.resolve("int8.json")).results().getFirst().precision());
            } else {
                assertEquals(2, r.exitCode(), r.err());
                assertTrue(r.err().contains("error: --precision int8 is not available yet: the cpu engine cannot run"),
                        r.err());
            }
            try (var dirs = Files.list(tmp.resolve("cache/engines"))) {
                assertTrue(dirs.anyMatch(d -> d.getFileName().toString().startsWith("tiny-int8-")
                        && Files.isRegularFile(d.resolve("rank0.safetensors"))));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            System.clearProperty("tinyrt.cache");
        }
    }

    @Test
    void userErrorsAreOneClearLine() {
        assertUserError("unknown precision \"fp12\"", "--model", model.toString(), "--precision", "fp12");
        assertUserError("exceed the model's context of 512", "--model", model.toString(), "--backend", "cpu",
                "--input-lens", "500", "--output-len", "20");
        assertUserError("needs " + tmp.resolve("no-python") + " with torch and transformers", "--model",
                model.toString(), "--baseline", "hf", "--python", tmp.resolve("no-python").toString());
        assertUserError("unknown backend", "--model", model.toString(), "--backend", "tpu");
        assertUserError("dataset not found", "--model", model.toString(), "--backend", "cpu", "--dataset",
                tmp.resolve("none.jsonl").toString());
    }

    private static void assertUserError(String fragment, String... args) {
        ScriptHarness.Result r = ScriptHarness.run("benchmark.java", args);
        assertEquals(2, r.exitCode(), r.err());
        String err = r.err().lines().filter(l -> !l.startsWith("WARNING")).reduce("", (a, b) -> a + b + "\n");
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("error: ") && err.contains(fragment), err);
    }
}
