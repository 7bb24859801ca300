package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.bench.Stats;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.quant.QuantAlgo;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * Batch-1 speed of the CUDA fp16 engine on one model: TTFT of a prompt and decode tokens/s, with and without CUDA
 * graphs; the GPU's copy and read bandwidth measured in the same run; bytes read per decode step and the achieved
 * fraction of that bandwidth; a per-op profile of decode steps; GEMV vs cuBLAS per product shape (the tactic
 * table); and, optionally, the CUDA logits and greedy tokens against the CPU fp32 engine. Writes one JSON.
 */
@Command(name = "cuda_speed", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time the CUDA engine at batch 1 (TTFT, decode tok/s, profile, tactics) and write JSON.")
public final class CudaSpeed implements Callable<Integer> {
    @Option(names = "--model", required = true) Path modelDir;
    @Option(names = "--prompt-len", defaultValue = "128") int promptLength;
    @Option(names = "--new-tokens", defaultValue = "128") int newTokens;
    @Option(names = "--repeats", defaultValue = "5") int repeats;
    @Option(names = "--ttft-repeats", defaultValue = "20") int ttftRepeats;
    @Option(names = "--warmup", defaultValue = "2") int warmup;
    @Option(names = "--profile-steps", defaultValue = "8") int profileSteps;
    @Option(names = "--cpu-check-tokens", defaultValue = "16",
            description = "greedy tokens to compare with the CPU fp32 engine (0: skip the CPU check)") int cpuTokens;
    @Option(names = "--bandwidth-bytes", defaultValue = "1073741824",
            description = "buffer size of the copy and read bandwidth probes") long bandwidthBytes;
    @Option(names = "--command", description = "the command line to record as provenance") String command;
    @Option(names = "--label", description = "the model's precision for reports (default: the checkpoint's"
            + " quant_algo, or fp16)") String label;
    @Option(names = "--out", required = true) Path out;

    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private ObjectNode root;

    public static void main(String... args) {
        CommandRunner.exit(new CudaSpeed(), args);
    }

    @Override
    public Integer call() throws IOException {
        root = RunInfo.collect(command != null ? command : "cuda_speed --model " + modelDir);
        String commit = System.getenv("TINYRT_COMMIT");
        if (commit != null && !commit.isBlank()) {
            root.put("commit", commit);
        }
        CudaDevice device = CudaDevice.get();
        ObjectNode gpu = root.putObject("gpu");
        gpu.put("name", device.name()).put("compute_capability", device.computeCapability())
                .put("multiprocessors", device.multiprocessors()).put("memory_bytes", device.totalMemory())
                .put("cuda_driver_api", device.driverVersion() / 1000 + "." + device.driverVersion() % 1000 / 10)
                .put("theoretical_bandwidth_gb_s", device.peakBandwidth() / 1e9);
        ObjectNode kernels = root.putObject("kernels");
        KernelImage.info().forEach((k, v) -> kernels.put(k.toString(), v.toString()));
        root.put("model", modelDir.toString());
        TrtllmConfig.Quantization q = TrtllmConfig.isCheckpoint(modelDir)
                ? TrtllmConfig.read(modelDir).quantization() : null;
        String algo = q == null || q.algo() == QuantAlgo.NONE ? null : q.algo().configName();
        int group = q == null ? 128 : q.groupSize();
        root.put("quant_algo", algo);
        root.put("precision", label != null ? label : algo != null ? algo : "fp16");
        root.put("prompt_tokens", promptLength).put("new_tokens", newTokens).put("batch", 1);
        root.put("status", "running");

        long t0 = System.nanoTime();
        try (LoadedModel m = LoadedModel.open(modelDir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            root.put("load_seconds", (System.nanoTime() - t0) / 1e9);
            CudaBackend b = (CudaBackend) m.backend();
            LlamaModel model = m.model();
            LlamaConfig config = m.config();
            root.put("weight_bytes", model.weightBytes()).put("device_bytes_after_load", b.deviceBytes());
            section("bandwidth", () -> bandwidth(b));
            int[] prompt = prompt(config.vocabSize());
            section("ttft", () -> ttft(b, model, prompt));
            section("decode", () -> decode(b, model, prompt));
            section("generator", () -> generator(b, m, prompt));
            section("profile", () -> profile(b, model, prompt));
            if (b.layerTracing()) {
                section("layer_trace", () -> layerTrace(b, model, prompt));
            }
            section("bytes_per_decode_step", () -> bytesPerStep(config, model.weightBytes()));
            section("tactics", () -> tactics(b, config, algo, group));
            if (cpuTokens > 0) {
                section("cpu_check", () -> cpuCheck(model, prompt));
            }
            root.put("graph_report", b.graphReport());
            root.put("decode_layer_kernel_launches", b.layerKernelLaunches());
            root.put("staged_gemv_launches", b.stagedGemvLaunches());
        }
        root.put("status", "done");
        write();
        summary();
        return 0;
    }

    /** Runs one part; a failure is recorded in the JSON (and printed) and the other parts still run. */
    private void section(String name, Runnable body) {
        long t0 = System.nanoTime();
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            e.printStackTrace(System.out);
            root.putObject(name + "_error").put("error", e.toString());
        }
        System.out.printf("[cuda_speed] %s: %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
        write();
    }

    private void write() {
        try {
            Files.createDirectories(out.toAbsolutePath().getParent());
            json.writeValue(out.toFile(), root);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private int[] prompt(int vocab) {
        SplittableRandom r = new SplittableRandom(7);
        int[] ids = new int[promptLength];
        ids[0] = 1;
        for (int i = 1; i < ids.length; i++) {
            ids[i] = 3 + r.nextInt(vocab - 3);
        }
        return ids;
    }

    private void bandwidth(CudaBackend b) {
        long bytes = bandwidthBytes;
        ObjectNode n = root.putObject("bandwidth");
        n.put("bytes", bytes);
        n.put("copy_gb_s", b.copyBandwidth(bytes));
        n.put("read_gb_s", b.readBandwidth(bytes));
        n.put("note", "copy: device-to-device cuMemcpy, bytes read + written; read: a streaming-load kernel");
    }

    /** Decode with graphs and PDL, each step queued before the previous step's token is read (GreedyDecode). */
    static final String OVERLAP = "graphs_overlap";

    /** The configurations timed: eager, graphs, and graphs without PDL where PDL is on. */
    private List<String> modes(CudaBackend b) {
        return b.pdlAvailable() ? List.of("eager", "graphs", "graphs_no_pdl") : List.of("eager", "graphs");
    }

    private void mode(CudaBackend b, String mode) {
        b.useGraphs(!mode.equals("eager"));
        if (b.pdlAvailable()) {
            b.usePdl(!mode.equals("graphs_no_pdl"));
        }
    }

    private void ttft(CudaBackend b, LlamaModel model, int[] prompt) {
        ObjectNode n = root.putObject("ttft_ms");
        root.put("pdl", b.pdlReport());
        root.put("decode_layer_kernel", b.layerKernelReport());
        root.put("staged_gemv", b.stagedGemvReport());
        for (String mode : modes(b)) {
            mode(b, mode);
            double[] ms = new double[ttftRepeats];
            for (int i = -warmup - 1; i < ttftRepeats; i++) {
                double t = GreedyDecode.run(model, prompt, 1).ttftMs();
                if (i >= 0) {
                    ms[i] = t;
                }
            }
            n.set(mode, Stats.of(ms).toJson());
            if (!mode.equals("eager")) {
                n.put(mode + "_gpu_ms_per_replay", b.timeLastGraph(5) / 1e3);
            }
        }
        mode(b, "graphs");
    }

    /** The decode-layer kernels' stage trace over a short greedy run (graphs, as the decode timing). */
    private void layerTrace(CudaBackend b, LlamaModel model, int[] prompt) {
        b.clearLayerTrace();
        GreedyDecode.run(model, prompt, 16);
        ObjectNode t = b.layerTraceReport();
        if (t != null) {
            root.set("decode_layer_trace", t);
        }
    }

    private void decode(CudaBackend b, LlamaModel model, int[] prompt) {
        ObjectNode n = root.putObject("decode");
        int[] reference = null;
        boolean identical = true;
        List<String> modes = new ArrayList<>(modes(b));
        modes.add(OVERLAP);
        for (String mode : modes) {
            mode(b, mode);
            double[] tps = new double[repeats];
            double[] tpot = new double[repeats];
            for (int i = -warmup; i < repeats; i++) {
                GreedyDecode.Result r = GreedyDecode.run(model, prompt, newTokens, mode.equals(OVERLAP));
                if (reference == null) {
                    reference = r.tokens();
                }
                identical &= Arrays.equals(reference, r.tokens());
                if (i >= 0) {
                    tps[i] = r.tokensPerSecond();
                    tpot[i] = r.decodeMs() / (newTokens - 1);
                }
            }
            ObjectNode g = n.putObject(mode);
            g.set("tokens_per_s", Stats.of(tps).toJson());
            g.set("tpot_ms", Stats.of(tpot).toJson());
            if (!mode.equals("eager")) {
                // the last decode step replayed again and again: device time per step, without the host's share
                g.put("gpu_us_per_step", b.timeLastGraph(5));
            }
        }
        mode(b, "graphs");
        n.put("tokens_identical_across_runs_and_modes", identical);
        n.put("first_tokens", Arrays.toString(Arrays.copyOf(reference, Math.min(16, reference.length))));
    }

    /** The Generator (logits copied to the host every step, sampling on the host), for comparison. */
    private void generator(CudaBackend b, LoadedModel m, int[] prompt) {
        SamplingParams params = SamplingParams.greedy(newTokens).withIgnoreEos(true);
        double[] tps = new double[repeats];
        int[] tokens = null;
        for (int i = -1; i < repeats; i++) {
            GenerationResult r = m.generator().generate(prompt, params, TokenListener.NONE);
            tokens = r.outputIds();
            if (i >= 0) {
                tps[i] = r.tokensPerS();
            }
        }
        ObjectNode n = root.putObject("generator_path");
        n.set("tokens_per_s", Stats.of(tps).toJson());
        n.put("note", "runtime.Generator: fp32 logits copied to the host and sampled there every step");
        int[] greedy = GreedyDecode.run(m.model(), prompt, newTokens).tokens();
        n.put("tokens_identical_to_gpu_argmax_loop", Arrays.equals(greedy, tokens));
    }

    private void profile(CudaBackend b, LlamaModel model, int[] prompt) {
        LlamaConfig config = model.config();
        int blockSize = KvCache.DEFAULT_BLOCK_SIZE;
        int blocks = (prompt.length + newTokens + blockSize - 1) / blockSize;
        int[] table = new int[blocks];
        Arrays.setAll(table, i -> i);
        List<List<CudaBackend.ProfiledOp>> steps = new ArrayList<>();
        int profileFrom = Math.max(1, newTokens / 2 - profileSteps / 2);
        int context = 0;
        b.useGraphs(false);
        List<List<CudaBackend.ProfiledOp>> prefill = new ArrayList<>();
        try (KvCache cache = b.kvCache(config, blocks, blockSize)) {
            b.beginProfile();
            int token = model.forwardGreedy(StepBatch.prompt(prompt, table), cache)[0];
            prefill.add(b.endProfile());
            for (int i = 1; i < newTokens; i++) {
                int length = prompt.length + i;
                StepBatch step = StepBatch.decode(token, length, table);
                boolean profiled = i >= profileFrom && steps.size() < profileSteps;
                if (profiled) {
                    b.beginProfile();
                    context = length;
                }
                token = model.forwardGreedy(step, cache)[0];
                if (profiled) {
                    steps.add(b.endProfile());
                }
            }
        } finally {
            b.useGraphs(true);
        }
        ObjectNode n = root.putObject("profile");
        n.put("method", "eager steps with an event after every op and a spin kernel at the head of the step, so"
                + " the ops run back to back as in a graph replay; times include the gap before each op (and the"
                + " events), so small kernels look slower than in a graph");
        ObjectNode decode = n.putObject("decode");
        summarize(decode, steps);
        decode.put("context_at_last_profiled_step", context);
        ObjectNode prefillNode = n.putObject("prefill");
        summarize(prefillNode, prefill);
        prefillNode.put("prompt_tokens", prompt.length);
    }

    /** Per-op totals of profiled steps: calls, microseconds and share per step, achieved GB/s. */
    private static void summarize(ObjectNode n, List<List<CudaBackend.ProfiledOp>> steps) {
        Map<String, double[]> byLabel = new LinkedHashMap<>();  // label -> {calls, micros, bytes} summed
        double total = 0;
        for (List<CudaBackend.ProfiledOp> ops : steps) {
            for (CudaBackend.ProfiledOp op : ops) {
                double[] acc = byLabel.computeIfAbsent(op.label(), k -> new double[3]);
                acc[0]++;
                acc[1] += op.micros();
                acc[2] += op.bytes();
                total += op.micros();
            }
        }
        int count = Math.max(1, steps.size());
        n.put("steps", steps.size());
        n.put("step_us", total / count);
        n.put("kernels_per_step", steps.isEmpty() ? 0 : steps.get(0).size());
        ArrayNode ops = n.putArray("ops");
        final double stepTotal = total;
        byLabel.entrySet().stream().sorted((x, y) -> Double.compare(y.getValue()[1], x.getValue()[1]))
                .forEach(e -> {
                    double[] a = e.getValue();
                    ops.addObject().put("op", e.getKey()).put("calls_per_step", a[0] / count)
                            .put("us_per_step", a[1] / count).put("share", a[1] / stepTotal)
                            .put("gb_s", a[1] > 0 ? a[2] / (a[1] * 1e3) : 0);
                });
    }

    /**
     * Weights every decode step reads (the model's weights in their stored form, quantized ones with their
     * scales, less the fp16 embedding table when the head is separate), plus the KV cache at the run's average
     * context.
     */
    private void bytesPerStep(LlamaConfig c, long modelWeightBytes) {
        long h = c.hiddenSize();
        long weights = modelWeightBytes - (c.tieWordEmbeddings() ? 0 : 2L * c.vocabSize() * h);
        double avgContext = promptLength + newTokens / 2.0;
        double kv = c.numLayers() * avgContext * 2 * c.kvDim() * 2;
        ObjectNode n = root.putObject("bytes_per_decode_step");
        n.put("weights", weights).put("kv_cache_at_average_context", kv).put("average_context", avgContext)
                .put("total", weights + kv);
        ObjectNode graphs = (ObjectNode) root.path("decode").path("graphs");
        double tpotMs = graphs.path("tpot_ms").path("median").asDouble(Double.NaN);
        double gbs = (weights + kv) / (tpotMs * 1e6);
        n.put("achieved_gb_s", gbs);
        double read = root.path("bandwidth").path("read_gb_s").asDouble(Double.NaN);
        double copy = root.path("bandwidth").path("copy_gb_s").asDouble(Double.NaN);
        n.put("fraction_of_read_bandwidth", gbs / read).put("fraction_of_copy_bandwidth", gbs / copy);
        n.put("bandwidth_floor_tokens_per_s", read * 1e9 / (weights + kv));
    }

    /** GEMV against cuBLAS for each product shape of the model, at 1..16 token rows. */
    private void tactics(CudaBackend b, LlamaConfig c, String algo, int group) {
        ArrayNode chosen = root.putArray("tactics_chosen_during_run");
        for (String line : b.tacticReport()) {
            chosen.add(line);
        }
        ArrayNode rows = root.putArray("tactics");
        int h = c.hiddenSize();
        // {m, k, kind}: kind 1 = gate|up with SwiGLU out (weight [2m, k], output [n, m]), 2 = fp32 output
        int[][] shapes = {{c.qDim() + 2 * c.kvDim(), h, 0}, {h, c.qDim(), 0}, {c.intermediateSize(), h, 1},
                {h, c.intermediateSize(), 0}, {c.vocabSize(), h, 2}};
        String[] names = {"qkv", "o_proj", "gate_up + swiglu", "down", "lm_head (fp32 out)"};
        try (Arena arena = Arena.ofConfined()) {
            for (int s = 0; s < shapes.length; s++) {
                int m = shapes[s][0];
                int k = shapes[s][1];
                boolean swiglu = shapes[s][2] == 1;
                boolean fp32 = shapes[s][2] == 2;
                int wRows = swiglu ? 2 * m : m;
                Weight w = b.weight(fp32 ? new WeightData.Dense(names[s], DType.F16, wRows, k,
                        arena.allocate(2L * wRows * k, 16)) : weightLike(algo, group, names[s], wRows, k, arena));
                for (int n : new int[]{1, 2, 4, 8, 16}) {
                    Tensor x = b.tensor(n, k);
                    Tensor gateUpOut = b.tensor(n, wRows);
                    Tensor y = fp32 ? b.wideTensor(n, m) : b.tensor(n, m);
                    ObjectNode row = rows.addObject().put("product", names[s]).put("m", m).put("k", k).put("n", n);
                    double best = Double.MAX_VALUE;
                    String winner = "";
                    for (MatmulTactics.Tactic t : MatmulTactics.Tactic.values()) {
                        MatmulTactics.Shape shape = new MatmulTactics.Shape(n, m, k, fp32, swiglu, w.format());
                        if (t == MatmulTactics.Tactic.GEMV && !MatmulTactics.gemvApplies(shape)) {
                            continue;
                        }
                        b.forceTactic(shape, t);
                        Runnable op = swiglu ? () -> b.matmulSwiglu(x, w, gateUpOut, y) : () -> b.matmul(x, w, y);
                        double us = b.timeOnGpu(op, 5);
                        row.put(t.name().toLowerCase(java.util.Locale.ROOT) + "_us", us);
                        if (us < best) {
                            best = us;
                            winner = t.name();
                        }
                    }
                    row.put("format", w.format()).put("faster", winner)
                            .put("weight_gb_s", w.ownedBytes() / (best * 1e3));
                }
            }
        }
        b.resetTactics();
    }

    /** A zero weight of the shape in the format the model's quant_algo gives its linear layers. */
    private static WeightData weightLike(String algo, int group, String name, int rows, int cols, Arena arena) {
        String a = algo == null ? "" : algo;
        int g = a.equals("W4A16") ? cols : group;  // TensorRT-LLM's W4A16 is per channel, AWQ per group
        return switch (a) {
            case "W8A16" -> new WeightData.Int8PerChannel(name, rows, cols, arena.allocate((long) rows * cols, 16),
                    new float[rows], null);
            case "W4A16", "W4A16_AWQ" -> new WeightData.Int4PerGroup(name, rows, cols, g,
                    arena.allocate((long) rows * cols / 2, 16), new float[rows * (cols / g)], null);
            default -> new WeightData.Dense(name, DType.F16, rows, cols, arena.allocate(2L * rows * cols, 16));
        };
    }

    private void cpuCheck(LlamaModel gpuModel, int[] prompt) {
        ObjectNode n = root.putObject("cpu_check");
        float[] gpuLast = gpuModel.lastLogits(prompt);
        int[] gpuTokens = GreedyDecode.run(gpuModel, prompt, cpuTokens).tokens();
        try (LoadedModel cpu = LoadedModel.open(modelDir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, 0))) {
            long t0 = System.nanoTime();
            float[] cpuLast = cpu.model().lastLogits(prompt);
            n.put("cpu_prefill_seconds", (System.nanoTime() - t0) / 1e9);
            double err = maxAbsDifference(cpuLast, gpuLast);
            double max = maxAbs(cpuLast);
            n.put("last_logits_max_abs_error", err).put("max_abs_logit", max).put("relative_error", err / max);
            int[] cpuTokensOut = GreedyDecode.run(cpu.model(), prompt, cpuTokens).tokens();
            n.put("greedy_tokens", cpuTokens);
            n.put("greedy_identical", Arrays.equals(cpuTokensOut, gpuTokens));
            n.put("cpu_tokens", Arrays.toString(cpuTokensOut)).put("cuda_tokens", Arrays.toString(gpuTokens));
            int at = commonPrefix(cpuTokensOut, gpuTokens, cpuTokens);
            String algo = root.path("quant_algo").asText("");
            if (algo.equals(QuantAlgo.FP8.name()) || algo.equals(QuantAlgo.W8A8_SQ_PER_CHANNEL.name())) {
                quantizerSensitivity(n, cpu, prompt, cpuLast, cpuTokensOut, err / max);
            }
            if (at < cpuTokens) {
                // how close the CPU's own logits were between its choice and CUDA's at the first difference
                int[] context = Arrays.copyOf(prompt, prompt.length + at);
                System.arraycopy(cpuTokensOut, 0, context, prompt.length, at);
                float[] l = cpu.model().lastLogits(context);
                double largest = maxAbs(l);
                n.put("first_difference_at", at);
                n.put("cpu_gap_at_first_difference", (l[cpuTokensOut[at]] - l[gpuTokens[at]]) / largest);
                n.put("note", "gap relative to max |logit|: a near-tie (below ~1e-2) is an fp16 rounding flip");
            }
        }
    }

    /**
     * Formats that quantize activations (FP8, SmoothQuant) amplify the engines' different roundings: a value near a
     * quantizer step flips to the next level under an fp16 rounding, and the flips compound over the layers. The
     * CPU engine run again with only its quantizer inputs rounded to fp16 (as the GPU holds them) measures that
     * amplification; the GPU is held to max(fp16 tolerance, twice that effect), the bound CudaSelfTest uses for
     * quantized KV caches.
     */
    private void quantizerSensitivity(ObjectNode n, LoadedModel cpu, int[] prompt, float[] cpuLast, int[] cpuTokensOut,
                                      double gpuRelative) {
        dev.tinyrt.backend.cpu.CpuBackend backend = (dev.tinyrt.backend.cpu.CpuBackend) cpu.model().backend();
        backend.roundQuantizerInputsToF16(true);
        try {
            double relative = maxAbsDifference(cpuLast, cpu.model().lastLogits(prompt)) / maxAbs(cpuLast);
            int[] tokens = GreedyDecode.run(cpu.model(), prompt, cpuTokens).tokens();
            int at = commonPrefix(tokens, cpuTokensOut, cpuTokens);
            double bound = Math.max(FP16_RELATIVE_TOLERANCE, 2 * relative);
            n.putObject("cpu_sensitivity_to_f16_quantizer_inputs").put("relative_error", relative)
                    .put("greedy_identical", at == cpuTokens).put("first_difference_at", at)
                    .put("note", "the CPU engine against itself with only the inputs of its activation quantizers "
                            + "rounded to fp16");
            n.put("relative_error_bound", bound).put("within_bound", gpuRelative <= bound);
        } finally {
            backend.roundQuantizerInputsToF16(false);
        }
    }

    private static double maxAbsDifference(float[] a, float[] b) {
        double err = 0;
        for (int i = 0; i < a.length; i++) {
            err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        return err;
    }

    private static double maxAbs(float[] v) {
        double max = 0;
        for (float x : v) {
            max = Math.max(max, Math.abs(x));
        }
        return max;
    }

    /** How many of the first {@code n} entries of a and b agree before the first difference. */
    private static int commonPrefix(int[] a, int[] b, int n) {
        int at = 0;
        while (at < n && a[at] == b[at]) {
            at++;
        }
        return at;
    }

    /** The parity bound of the fp16 engines against the CPU's fp32 (EmulatedScenario, cuda_check's parity). */
    private static final double FP16_RELATIVE_TOLERANCE = 1e-2;

    private void summary() {
        System.out.println("[cuda_speed] " + root.path("gpu").path("name").asText() + ", "
                + root.path("precision").asText() + ": decode "
                + root.path("decode").path("graphs").path("tokens_per_s").path("median").asDouble() + " tok/s with"
                + " graphs (" + root.path("decode").path("eager").path("tokens_per_s").path("median").asDouble()
                + " eager), TTFT " + root.path("ttft_ms").path("graphs").path("median").asDouble() + " ms with graphs ("
                + root.path("ttft_ms").path("eager").path("median").asDouble() + " eager), "
                + root.path("bytes_per_decode_step").path("achieved_gb_s").asDouble() + " GB/s achieved = "
                + root.path("bytes_per_decode_step").path("fraction_of_read_bandwidth").asDouble()
                + " of measured read bandwidth");
    }
}
