package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.ExecutorConfig;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The whole memory analysis of one model on one backend, as one JSON document (schema in docs/memory.md):
 * <ol>
 * <li>weights per precision, KV cache per token and as allocated, activations, process/device total — computed
 * and measured;</li>
 * <li>standard (contiguous, preallocated to max_seq_len) against paged allocation at several block sizes, by
 * running the same workloads over the same KV budget, with the pool tracked at every step;</li>
 * <li>prefix reuse (a shared system prompt) on and off; KV dtypes' capacity;</li>
 * <li>the capacity planner, checked against real runs at other budgets.</li>
 * </ol>
 */
public final class MemoryAnalysis {
    public static final String SCHEMA = "tinyrt.memory/1";
    private final AnalysisSettings s;
    private final Consumer<String> log;

    public MemoryAnalysis(AnalysisSettings settings, PrintStream log) {
        this.s = settings;
        this.log = log::println;
    }

    public ObjectNode run(ObjectNode provenance) {
        ObjectNode doc = JsonNodeFactory.instance.objectNode();
        doc.put("schema", SCHEMA);
        doc.setAll(provenance);
        // the device (its context) first, so that every reading after this one is the model's
        DeviceMemory device = DeviceMemory.forBackend(s.backend()).orElse(null);
        MemoryProbe host = new MemoryProbe(List.of(), device);
        MemorySnapshot processStart = host.snapshot();
        doc.put("nmt_enabled", !processStart.nmt().isEmpty());
        doc.set("settings", s.toJson());

        Path source = s.engine() != null ? s.engine() : s.model();
        ArrayNode weights = doc.putArray("weights");
        List<WeightMeasurement.Result> weightResults = new ArrayList<>();
        for (WeightPrecision p : s.precisions()) {
            log.accept("weights: " + p.label());
            WeightMeasurement.Result r = measureWeights(p, host);
            weightResults.add(r);
            weights.add(r.toJson());
        }
        WeightPrecision primary = s.precisions().getFirst();
        if (!weightResults.getFirst().loads()) {
            throw new TinyrtException("the " + s.backend() + " backend cannot load " + primary.label() + " weights yet ("
                    + weightResults.getFirst().loadError() + "); put a precision it loads first in --precision");
        }

        LoadedModel.Options options = new LoadedModel.Options(s.backend(),
                primary.quantized() ? StoragePrecision.AUTO : primary.storage(), s.threads(), s.kvCacheDtype());
        MemorySnapshot mainStart = host.snapshot();
        try (IdsOnlyView view = new IdsOnlyView(mainDirectory(primary));
             LoadedModel model = LoadedModel.open(view.path(), options)) {
            LlamaConfig c = model.config();
            MemoryProbe probe = host.watching(view.realDirectory());
            MemorySnapshot start = mainStart;
            doc.set("model", modelJson(source, c, model));
            doc.put("backend", model.backend().name());
            if (device != null) {
                doc.putObject("device").put("name", device.deviceName())
                        .put("total_bytes", device.info().totalBytes());
            }

            int maxSeqLen = s.maxSeqLen() > 0 ? Math.min(s.maxSeqLen(), c.maxPositionEmbeddings())
                    : c.maxPositionEmbeddings();
            RunLimits limits = RunLimits.of(s.maxBatchSize(), maxSeqLen);
            int activationTokens = s.activationTokens() > 0 ? s.activationTokens() : maxSeqLen;
            long weightBytes = weightResults.getFirst().component().computedBytes();

            log.accept("kv cache and activations");
            long bpt = model.model().kvBytesPerToken();
            long budget = s.budgetBytes() > 0 ? s.budgetBytes() : 8L * maxSeqLen * bpt;
            EngineMeasurement.Result engine = EngineMeasurement.measure(model.model(), probe, start, weightBytes,
                    budget / bpt, activationTokens, ActivationBytes.of(model.backend()));
            doc.set("breakdown", engine.toJson(c));

            Workload main = mainWorkload(maxSeqLen, c.vocabSize());
            int[] fixed = fixedLengths(maxSeqLen);
            Workload fixedW = Workloads.fixed(fixed[0], fixed[1], s.requests(), s.seed() + 1, c.vocabSize());
            int system = s.systemPromptTokens() > 0 ? s.systemPromptTokens() : maxSeqLen / 8;
            Workload prefixW = Workloads.withSystemPrompt(main, system, s.seed() + 2, maxSeqLen, c.vocabSize());
            ArrayNode workloads = doc.putArray("workloads");
            for (Workload w : List.of(main, fixedW, prefixW)) {
                workloads.add(w.summary());
            }

            WorkloadRunner runner = new WorkloadRunner(model.model(), model.eosIds(), probe);
            ObjectNode cmp = doc.putObject("allocation_comparison");
            cmp.put("budget_bytes", budget);
            cmp.put("bytes_per_token", bpt);
            cmp.put("max_seq_len", maxSeqLen);
            cmp.put("max_batch_size", limits.maxBatchSize());
            cmp.put("max_num_tokens", limits.maxNumTokens());
            cmp.put("standard_emulation", "standard = one KV block of max_seq_len tokens per sequence "
                    + "(tokens_per_block = max_seq_len), taken at admission and held to the end: contiguous per-sequence "
                    + "KV preallocated to max_seq_len, as HF's static cache allocates it");
            ArrayNode runs = cmp.putArray("runs");
            RunResult mainPaged32 = null;
            List<RunResult> calibration = new ArrayList<>();
            for (Workload w : List.of(main, fixedW)) {
                List<AllocationMode> modes = new ArrayList<>();
                modes.add(AllocationMode.standard(maxSeqLen));
                for (int b : s.blockSizes()) {
                    modes.add(AllocationMode.paged(b));
                }
                if (w == main) {
                    modes.add(AllocationMode.paged(32).withPolicy(ExecutorConfig.Policy.GUARANTEED_NO_EVICT));
                }
                for (AllocationMode m : modes) {
                    RunResult r = timed(runner, w, m, limits, budget, bpt);
                    boolean keepTimeline = w == main && (m.standard() || m.name().equals("paged-32"));
                    runs.add(r.toJson(keepTimeline).put("limited_by", CapacityPlanner.limitedBy(r, limits)));
                    if (w == main && m.name().equals("paged-32")) {
                        mainPaged32 = r;
                    }
                    if (w == main && !m.standard() && m.policy() == ExecutorConfig.Policy.MAX_UTILIZATION) {
                        calibration.add(r);
                    }
                }
            }
            if (mainPaged32 == null) {
                mainPaged32 = timed(runner, main, AllocationMode.paged(32), limits, budget, bpt);
                runs.add(mainPaged32.toJson(true).put("limited_by", CapacityPlanner.limitedBy(mainPaged32, limits)));
                calibration.add(mainPaged32);
            }

            ObjectNode prefix = doc.putObject("prefix_reuse");
            prefix.put("system_prompt_tokens", system);
            prefix.put("workload", prefixW.name());
            ArrayNode prefixRuns = prefix.putArray("runs");
            for (boolean on : new boolean[]{false, true}) {
                RunResult r = timed(runner, prefixW, AllocationMode.paged(32).withPrefixCaching(on), limits, budget,
                        bpt);
                prefixRuns.add(r.toJson(true).put("limited_by", CapacityPlanner.limitedBy(r, limits)));
            }

            StepTimeModel stepModel = StepTimeModel.fit(calibration);
            ObjectNode planner = doc.putObject("planner");
            planner.set("step_model", stepModel.toJson());
            long fixedBytes = fixedBytes(weightBytes, engine, processStart);
            planner.put("fixed_bytes", fixedBytes);
            planner.put("fixed_bytes_how", "computed weights + measured activations + runtime overhead (the "
                    + (device != null ? "device's used memory before any model: the context"
                    : "process's resident set before any model: the JVM")
                    + ")");
            try (ProxyScheduler proxy = new ProxyScheduler(c.maxPositionEmbeddings())) {
                CapacityPlanner plan = new CapacityPlanner(proxy, stepModel, limits);
                ArrayNode verify = planner.putArray("verification");
                for (double f : s.verifyFactors()) {
                    long kv = (long) (budget * f);
                    var q = new CapacityPlanner.Question(String.format(Locale.ROOT, "%.2gx budget", f), fixedBytes + kv,
                            fixedBytes, bpt, main, AllocationMode.paged(32));
                    log.accept("planner check at " + q.label());
                    CapacityPlanner.Answer a = plan.answer(q);
                    RunResult measured = timed(runner, main, AllocationMode.paged(32), limits, kv, bpt);
                    verify.add(verification(a, measured));
                }
                Workload big = bigWorkload(maxSeqLen, c.vocabSize(), limits);
                ArrayNode answers = planner.putArray("answers");
                for (long memory : planMemory(device)) {
                    var q = new CapacityPlanner.Question(String.format(Locale.ROOT, "%.2f GiB", memory / GIB), memory,
                            fixedBytes, bpt, big, AllocationMode.paged(32));
                    log.accept("planner answer for " + q.label());
                    try {
                        answers.add(plan.answer(q).toJson());
                    } catch (TinyrtException e) {
                        answers.addObject().put("label", q.label()).put("memory_bytes", memory)
                                .put("fixed_bytes", fixedBytes).put("error", e.getMessage());
                    }
                }
                doc.set("concurrency_sweep", sweep(proxy, stepModel, big, limits, budget, bpt, maxSeqLen));
                log.accept("kv cache dtypes");
                doc.set("kv_quantization", kvQuantization(proxy, stepModel, c, big, limits, budget, bpt, model,
                        probe));
            }
        }
        return doc;
    }

    private static final double GIB = 1024.0 * 1024 * 1024;

    private WeightMeasurement.Result measureWeights(WeightPrecision p, MemoryProbe host) {
        LoadedModel.Options options = new LoadedModel.Options(s.backend(), StoragePrecision.AUTO, s.threads());
        if (s.engine() != null) {
            if (p != precisionOfEngine()) {
                throw new TinyrtException("--engine " + s.engine() + " holds " + precisionOfEngine().label()
                        + " weights; drop --precision or give --model to convert to other precisions");
            }
            return WeightMeasurement.measureCheckpoint(s.engine(), p, options, host);
        }
        return WeightMeasurement.measure(s.model(), p, options, host, s.work(), s.calibration());
    }

    /** The precision a TensorRT-LLM checkpoint holds, in {@link WeightPrecision}'s terms. */
    WeightPrecision precisionOfEngine() {
        TrtllmConfig config = TrtllmConfig.read(s.engine());
        return switch (config.quantization().algo()) {
            case NONE -> WeightPrecision.AUTO;
            case W8A16 -> WeightPrecision.INT8;
            case W4A16 -> WeightPrecision.INT4;
            case W4A16_AWQ -> config.quantization().preQuantScale() ? WeightPrecision.INT4_AWQ : WeightPrecision.INT4;
            case W8A8_SQ_PER_CHANNEL -> WeightPrecision.W8A8_SQ;
            case FP8 -> WeightPrecision.FP8;
        };
    }

    private Path mainDirectory(WeightPrecision primary) {
        if (s.engine() != null) {
            return s.engine();
        }
        return primary.quantized() ? s.work().resolve("trtllm-" + primary.label()) : s.model();
    }

    private Workload mainWorkload(int maxSeqLen, int vocab) {
        if (s.dataset() != null) {
            return Workloads.read(s.dataset(), maxSeqLen, vocab);
        }
        return Workloads.lognormal(shape(maxSeqLen), s.requests(), s.seed(), maxSeqLen, vocab);
    }

    private Workloads.Lognormal shape(int maxSeqLen) {
        Workloads.Lognormal base = s.lognormal() != null ? s.lognormal()
                : Workloads.Lognormal.SHAREGPT.scaledTo(maxSeqLen);
        return base.scaled(s.lengthScale());
    }

    private int[] fixedLengths(int maxSeqLen) {
        int in = Math.min(s.fixedLengths()[0], maxSeqLen - 1);
        int out = Math.min(s.fixedLengths()[1], maxSeqLen - in);
        return new int[]{in, out};
    }

    /** Enough requests of the same distribution to fill max_batch_size several times over. */
    private Workload bigWorkload(int maxSeqLen, int vocab, RunLimits limits) {
        int n = Math.max(s.requests(), 4 * limits.maxBatchSize());
        if (s.dataset() != null) {
            Workload d = Workloads.read(s.dataset(), maxSeqLen, vocab);
            List<Workload.Request> list = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                list.add(d.requests().get(i % d.requests().size()));
            }
            return new Workload(d.name(), d.description() + ", repeated to " + n + " requests", list);
        }
        return Workloads.lognormal(shape(maxSeqLen), n, s.seed(), maxSeqLen, vocab);
    }

    private List<Long> planMemory(DeviceMemory device) {
        if (!s.planMemoryBytes().isEmpty()) {
            return s.planMemoryBytes();
        }
        return device == null ? List.of() : List.of(device.info().totalBytes());
    }

    /**
     * Weights, activations and what the runtime holds before any model (the JVM, or the device context): memory
     * that is not available to the KV cache.
     */
    private static long fixedBytes(long weights, EngineMeasurement.Result engine, MemorySnapshot processStart) {
        long overhead = processStart.device() != null ? processStart.device().usedBytes()
                : Math.max(0, processStart.rss());
        return weights + engine.activations().measured().bytes() + overhead;
    }

    private RunResult timed(WorkloadRunner runner, Workload w, AllocationMode m, RunLimits limits, long budget,
                            long bpt) {
        RunResult r = runner.run(w, m, limits, budget, bpt);
        log.accept(String.format(Locale.ROOT, "  %-10s %-22s max %3d seqs, mean %6.1f, util %5.1f%%, %7.1f tok/s, "
                        + "%.1f s", w.name(), m.name(), r.maxConcurrent(), r.meanConcurrent(), 100 * r.utilization(),
                r.outputTokensPerSecond(), r.wallSeconds()));
        return r;
    }

    private static ObjectNode verification(CapacityPlanner.Answer a, RunResult measured) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.set("predicted", a.toJson());
        ObjectNode m = n.putObject("measured");
        m.put("kv_budget_bytes", measured.budgetBytes());
        m.put("max_concurrent", measured.maxConcurrent());
        m.put("mean_concurrent", measured.meanConcurrent());
        m.put("output_tok_s", measured.outputTokensPerSecond());
        m.put("wall_s", measured.wallSeconds());
        m.put("steps", measured.steps().size());
        n.put("identical_schedule", sameSchedule(a.predicted(), measured));
        n.put("max_concurrent_error", (double) a.predicted().maxConcurrent() / measured.maxConcurrent() - 1);
        n.put("mean_concurrent_error", a.predicted().meanConcurrent() / measured.meanConcurrent() - 1);
        n.put("throughput_error", a.predictedOutputTokensPerSecond() / measured.outputTokensPerSecond() - 1);
        return n;
    }

    /** Whether two runs took the same steps: the same sequences, tokens and blocks in every step. */
    public static boolean sameSchedule(RunResult a, RunResult b) {
        if (a.steps().size() != b.steps().size()) {
            return false;
        }
        for (int i = 0; i < a.steps().size(); i++) {
            var x = a.steps().get(i).stats();
            var y = b.steps().get(i).stats();
            if (x.sequences() != y.sequences() || x.prefillTokens() != y.prefillTokens()
                    || x.decodeTokens() != y.decodeTokens() || x.blocksUsed() != y.blocksUsed()
                    || x.usedTokens() != y.usedTokens()) {
                return false;
            }
        }
        return true;
    }

    /** Max concurrency against the KV budget for standard and paged allocation (scheduler on the proxy). */
    private ObjectNode sweep(ProxyScheduler proxy, StepTimeModel stepModel, Workload main, RunLimits limits,
                             long budget, long bpt, int maxSeqLen) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("how", "the real executor and block manager on a proxy model (ProxyScheduler): concurrency is exact "
                + "for these token counts; throughput is the step-time model's prediction");
        n.put("workload", main.name());
        n.put("requests", main.requests().size());
        ArrayNode points = n.putArray("points");
        List<AllocationMode> modes = List.of(AllocationMode.standard(maxSeqLen), AllocationMode.paged(16),
                AllocationMode.paged(32));
        for (double f : s.sweepFactors()) {
            long kv = (long) (budget * f);
            for (AllocationMode m : modes) {
                if (kv / bpt < m.tokensPerBlock()) {
                    continue;
                }
                RunResult r = stepModel.retime(proxy.simulate(main, m, limits, kv, bpt));
                points.addObject().put("budget_factor", f).put("kv_budget_bytes", kv).put("mode", m.name())
                        .put("max_concurrent", r.maxConcurrent()).put("mean_concurrent", r.meanConcurrent())
                        .put("utilization", r.utilization())
                        .put("predicted_output_tok_s", r.outputTokensPerSecond());
            }
        }
        return n;
    }

    /**
     * Capacity of each KV dtype in the same budget. Each pool is allocated by the backend in that dtype, as the
     * executor allocates it (int8/fp8 with unit scales: the scales do not change what is allocated), and measured;
     * a dtype the backend cannot store (fp32 on CUDA) says why.
     */
    private ObjectNode kvQuantization(ProxyScheduler proxy, StepTimeModel stepModel, LlamaConfig c, Workload main,
                                      RunLimits limits, long budget, long engineBpt, LoadedModel model,
                                      MemoryProbe probe) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("budget_bytes", budget);
        n.put("measured", true);
        n.put("how", "each pool (the budget's tokens in that dtype, whole blocks of " + KvCache.DEFAULT_BLOCK_SIZE
                + ") allocated through the backend as the executor allocates it and measured ("
                + (probe.snapshot().device() != null ? "device used bytes" : "heap used after GC")
                + " before and after); concurrency scheduled by the real executor on the proxy model. "
                + "Int8/fp8 store x/scale with one scale per layer and dequantize inside attention.");
        ArrayNode rows = n.putArray("dtypes");
        for (KvDtype d : List.of(KvDtype.FP32, KvDtype.FP16, KvDtype.INT8, KvDtype.FP8)) {
            long bpt = MemoryFormulas.kvBytesPerToken(c, d);
            RunResult r = stepModel.retime(proxy.simulate(main, AllocationMode.paged(32), limits, budget, bpt));
            ObjectNode row = rows.addObject().put("dtype", d.label()).put("bytes_per_token", bpt)
                    .put("tokens_in_budget", budget / bpt).put("capacity_vs_engine", (double) engineBpt / bpt)
                    .put("max_concurrent", r.maxConcurrent()).put("mean_concurrent", r.meanConcurrent());
            measurePool(row, model, probe, c, KvCacheDtype.parse(d.label()), budget / bpt);
        }
        n.set("quality", QualityLookup.kvQuality());
        return n;
    }

    /** Allocates a {@code tokens}-token pool of {@code dtype} through the backend and records what it took. */
    private static void measurePool(ObjectNode row, LoadedModel model, MemoryProbe probe, LlamaConfig c,
                                    KvCacheDtype dtype, long tokens) {
        int bs = KvCache.DEFAULT_BLOCK_SIZE;
        int blocks = (int) Math.max(1, (tokens + bs - 1) / bs);
        KvCacheFormat format;
        if (dtype.quantized()) {
            float[] scales = new float[c.numLayers()];
            Arrays.fill(scales, 1f);
            format = KvCacheFormat.quantized(dtype, scales);
        } else {
            format = KvCacheFormat.of(dtype);
        }
        model.model().backend().releaseIdleMemory();  // else the CUDA backend may reuse or swap a kept storage
        MemorySnapshot before = probe.snapshot();
        try (KvCache cache = model.model().kvCache(blocks, bs, format)) {
            Measured m = Measured.between(before, probe.snapshot());
            long poolTokens = (long) blocks * bs;
            row.put("engine_stores_it", true);
            row.put("engine_bytes_per_token", cache.bytesPerToken());
            row.put("pool_tokens", poolTokens);
            row.put("engine_pool_bytes", cache.totalBytes());
            row.set("measured_pool", m.toJson());
            // the same check as the breakdown's pool: agree within 5 % or say why (G1's humongous regions)
            Component pool = new Component("kv pool " + dtype.label(), cache.totalBytes(), m,
                    EngineMeasurement.explain(cache.totalBytes(), m, MemoryFormulas.kvArraysPerLayer(c, poolTokens,
                            KvDtype.ofElementSize(dtype.bytes())), "one keys and one values array per layer"));
            row.put("pool_relative_difference", pool.relativeDifference());
            row.put("pool_agrees_within_5_percent", pool.agrees());
            if (pool.explanation() != null) {
                row.put("pool_explanation", pool.explanation());
            }
        } catch (TinyrtException | UnsupportedOperationException e) {
            row.put("engine_stores_it", false);
            row.put("why_not_measured", e.getMessage());
        }
    }

    private static ObjectNode modelJson(Path dir, LlamaConfig c, LoadedModel m) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", dir.toAbsolutePath().normalize().getFileName().toString());
        n.put("layers", c.numLayers());
        n.put("hidden_size", c.hiddenSize());
        n.put("heads", c.numHeads());
        n.put("kv_heads", c.numKvHeads());
        n.put("head_dim", c.headDim());
        n.put("intermediate_size", c.intermediateSize());
        n.put("vocab_size", c.vocabSize());
        n.put("max_position_embeddings", c.maxPositionEmbeddings());
        n.put("parameters", c.parameterCount());
        n.put("weight_bytes_loaded", m.model().weightBytes());
        return n;
    }
}
