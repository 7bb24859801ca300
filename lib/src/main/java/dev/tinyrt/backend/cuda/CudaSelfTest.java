package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.backend.cpu.CpuBackend;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * The GPU self-test (run on a machine with a GPU; Maven's tests cannot reach one): every CUDA kernel against the
 * CPU backend on small random inputs — norms, adds, GEMV (every row count) and cuBLAS products, fused SwiGLU,
 * RoPE with the KV-cache write, prefill and split-K decode attention over shuffled block tables (MHA, GQA, odd
 * groups, head dims 16 to 128, chunked prefill, mixed batches; fp16, int8 and fp8 KV caches), gathers, argmax —
 * then whole random models (fp16 and int8/fp8 KV), CUDA against CPU and graphs against eager. Prints one line per check and exits 1 if any fails.
 */
@Command(name = "cuda_selftest", mixinStandardHelpOptions = true,
        description = "Check every CUDA kernel against the CPU backend (needs a GPU).")
public final class CudaSelfTest implements Callable<Integer> {
    /** One check: the largest error, the largest reference magnitude, the allowed error relative to it. */
    public record Check(String name, double maxAbsError, double maxReference, double tolerance, boolean passed,
                        String note) {
        double relativeError() {
            return maxAbsError / Math.max(maxReference, 1e-30);
        }
    }

    @Option(names = "--out", description = "also write the results as JSON") Path out;
    @Option(names = "--tmp", description = "scratch directory for random checkpoints") Path tmp;

    private final List<Check> checks = new ArrayList<>();
    private final SplittableRandom random = new SplittableRandom(20261126);
    private CudaBackend gpu;
    private CpuBackend cpu;
    private Arena arena;

    public static void main(String... args) {
        CommandRunner.exit(new CudaSelfTest(), args);
    }

    @Override
    public Integer call() throws IOException {
        Path scratch = tmp != null ? tmp : Files.createTempDirectory("tinyrt-selftest");
        try (CudaBackend g = CudaBackend.create(); CpuBackend c = new CpuBackend(); Arena a = Arena.ofShared()) {
            gpu = g;
            cpu = c;
            arena = a;
            System.out.println("GPU: " + g.device().name() + ", compute " + g.device().computeCapability()
                    + ", driver " + g.device().driverVersion() + ", kernels " + KernelImage.info());
            guard("elementwise", this::elementwise);
            guard("matmul", this::matmuls);
            guard("attention", this::attentions);
            guard("argmax", this::argmax);
        }
        guard("models", () -> models(scratch));
        long failed = checks.stream().filter(k -> !k.passed()).count();
        System.out.printf("%s: %d checks, %d failed%n", failed == 0 ? "PASS" : "FAIL", checks.size(), failed);
        if (out != null) {
            write(out);
        }
        return failed == 0 ? 0 : 1;
    }

    /** Runs a group; an exception is a failed check (with its message), and the other groups still run. */
    private void guard(String group, Runnable body) {
        try {
            body.run();
        } catch (RuntimeException | AssertionError e) {
            e.printStackTrace(System.out);
            record(new Check(group + " (exception)", Double.NaN, Double.NaN, 0, false, e.toString()));
        }
    }

    private void record(Check c) {
        checks.add(c);
        System.out.printf("%-4s %-64s err %.3e  max|ref| %.3e  rel %.2e  (tol %.0e)%s%n", c.passed() ? "ok" : "FAIL",
                c.name(), c.maxAbsError(), c.maxReference(), c.relativeError(), c.tolerance(),
                c.note().isEmpty() ? "" : "  " + c.note());
    }

    private void compare(String name, float[][] expected, float[][] actual, double tolerance) {
        double err = 0;
        double ref = 0;
        boolean finite = true;
        for (int r = 0; r < expected.length; r++) {
            for (int i = 0; i < expected[r].length; i++) {
                finite &= Float.isFinite(actual[r][i]);
                err = Math.max(err, Math.abs(expected[r][i] - actual[r][i]));
                ref = Math.max(ref, Math.abs(expected[r][i]));
            }
        }
        boolean ok = finite && err <= tolerance * Math.max(ref, 1e-6);
        record(new Check(name, err, ref, tolerance, ok, finite ? "" : "non-finite values"));
    }

    // ---- inputs ---------------------------------------------------------------------------------------------

    /** Random values rounded to fp16, so both backends start from identical inputs. */
    private float[][] values(int rows, int cols, double scale, double mean) {
        float[][] v = new float[rows][cols];
        for (float[] row : v) {
            for (int i = 0; i < cols; i++) {
                row[i] = Numerics.f16ToFloat(Numerics.floatToF16((float) (mean + scale * random.nextGaussian())));
            }
        }
        return v;
    }

    private WeightData.Dense dense(String name, float[][] v) {
        int rows = v.length;
        int cols = v[0].length;
        MemorySegment seg = arena.allocate(2L * rows * cols, 16);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, (long) r * cols + i, Numerics.floatToF16(v[r][i]));
            }
        }
        return new WeightData.Dense(name, DType.F16, rows, cols, seg);
    }

    private record Both<T>(T gpu, T cpu) {
    }

    private Both<Weight> weight(String name, float[][] v) {
        WeightData.Dense d = dense(name, v);
        return new Both<>(gpu.weight(d), cpu.weight(d));
    }

    /** A tensor holding {@code v} on both backends (through embed, the only way in the Backend interface). */
    private Both<Tensor> tensor(float[][] v, boolean wide) {
        Both<Weight> table = weight("input", v);
        int rows = v.length;
        int cols = v[0].length;
        Tensor g = wide ? gpu.wideTensor(rows, cols) : gpu.tensor(rows, cols);
        Tensor c = cpu.tensor(rows, cols);
        int[] ids = new int[rows];
        Arrays.setAll(ids, i -> i);
        gpu.embed(table.gpu(), ids, g);
        cpu.embed(table.cpu(), ids, c);
        return new Both<>(g, c);
    }

    private Both<Tensor> empty(int rows, int cols, boolean wide) {
        return new Both<>(wide ? gpu.wideTensor(rows, cols) : gpu.tensor(rows, cols), cpu.tensor(rows, cols));
    }

    private void same(String name, Both<Tensor> t, double tolerance) {
        compare(name, cpu.toHost(t.cpu()), gpu.toHost(t.gpu()), tolerance);
    }

    // ---- checks ---------------------------------------------------------------------------------------------

    private void elementwise() {
        for (boolean wide : new boolean[]{false, true}) {
            String dt = wide ? " fp32" : " fp16";
            Both<Tensor> x = tensor(values(5, 96, 1.0, 0), wide);
            same("embed" + dt, x, 0);
            Both<Weight> gamma = weight("gamma", values(1, 96, 0.1, 1.0));
            Both<Tensor> out = empty(5, 96, false);
            gpu.rmsNorm(x.gpu(), gamma.gpu(), 1e-5f, out.gpu());
            cpu.rmsNorm(x.cpu(), gamma.cpu(), 1e-5f, out.cpu());
            same("rmsNorm" + dt + " input", out, 2e-3);
            Both<Tensor> res = tensor(values(5, 2048, 1.0, 0), wide);
            Both<Tensor> delta = tensor(values(5, 2048, 0.5, 0), false);
            Both<Weight> g2 = weight("gamma2", values(1, 2048, 0.1, 1.0));
            Both<Tensor> normed = empty(5, 2048, false);
            gpu.addRmsNorm(res.gpu(), delta.gpu(), g2.gpu(), 1e-6f, normed.gpu());
            cpu.addRmsNorm(res.cpu(), delta.cpu(), g2.cpu(), 1e-6f, normed.cpu());
            same("addRmsNorm" + dt + " residual: residual", res, wide ? 1e-6 : 2e-3);
            same("addRmsNorm" + dt + " residual: normed", normed, 3e-3);
            gpu.add(res.gpu(), delta.gpu());
            cpu.add(res.cpu(), delta.cpu());
            same("add" + dt + " residual", res, wide ? 1e-6 : 2e-3);
        }
        Both<Tensor> gateUp = tensor(values(3, 2 * 200, 2.0, 0), false);
        Both<Tensor> act = empty(3, 200, false);
        gpu.swiglu(gateUp.gpu(), act.gpu());
        cpu.swiglu(gateUp.cpu(), act.cpu());
        same("swiglu", act, 2e-3);
        Both<Tensor> rows = tensor(values(9, 64, 1.0, 0), false);
        Both<Tensor> picked = empty(3, 64, false);
        int[] which = {8, 0, 4};
        gpu.gatherRows(rows.gpu(), which, picked.gpu());
        cpu.gatherRows(rows.cpu(), which, picked.cpu());
        same("gatherRows", picked, 0);
    }

    private void matmuls() {
        int[][] shapes = {{96, 64}, {2560, 2048}, {2048, 5632}, {300, 104}, {77, 100}};
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            Both<Weight> w = weight("w", values(m, k, 0.02, 0));
            for (int n : new int[]{1, 2, 3, 4, 5, 6, 7, 8, 16, 37}) {
                Both<Tensor> x = tensor(values(n, k, 1.0, 0), false);
                for (boolean wideOut : new boolean[]{false, true}) {
                    for (MatmulTactics.Tactic t : MatmulTactics.Tactic.values()) {
                        MatmulTactics.Shape shape = new MatmulTactics.Shape(n, m, k, wideOut, false);
                        if (t == MatmulTactics.Tactic.GEMV && !MatmulTactics.gemvApplies(shape)) {
                            continue;
                        }
                        gpu.forceTactic(shape, t);
                        Both<Tensor> out = empty(n, m, wideOut);
                        gpu.matmul(x.gpu(), w.gpu(), out.gpu());
                        cpu.matmul(x.cpu(), w.cpu(), out.cpu());
                        same(String.format("matmul n=%d m=%d k=%d %s%s", n, m, k, t, wideOut ? " fp32-out" : ""), out,
                                wideOut ? 1e-4 : 2e-3);
                    }
                }
            }
        }
        for (int[] s : new int[][]{{5632, 2048}, {160, 64}, {200, 96}}) {  // {I, hidden}: gate|up is [2I, hidden]
            int inner = s[0];
            int k = s[1];
            Both<Weight> w = weight("gate_up", values(2 * inner, k, 0.05, 0));
            for (int n : new int[]{1, 2, 4, 8, 16}) {
                Both<Tensor> x = tensor(values(n, k, 1.0, 0), false);
                for (MatmulTactics.Tactic t : MatmulTactics.Tactic.values()) {
                    MatmulTactics.Shape shape = new MatmulTactics.Shape(n, inner, k, false, true);
                    if (t == MatmulTactics.Tactic.GEMV && !MatmulTactics.gemvApplies(shape)) {
                        continue;
                    }
                    gpu.forceTactic(shape, t);
                    Both<Tensor> gateUpOut = empty(n, 2 * inner, false);
                    Both<Tensor> act = empty(n, inner, false);
                    gpu.matmulSwiglu(x.gpu(), w.gpu(), gateUpOut.gpu(), act.gpu());
                    cpu.matmulSwiglu(x.cpu(), w.cpu(), gateUpOut.cpu(), act.cpu());
                    same(String.format("matmul+swiglu n=%d I=%d k=%d %s", n, inner, k, t), act, 3e-3);
                }
            }
        }
        gpu.resetTactics();
        Both<Weight> a = weight("a", values(40, 64, 0.1, 0));
        Both<Weight> b = weight("b", values(24, 64, 0.1, 0));
        Weight fusedGpu = gpu.concatRows(a.gpu(), b.gpu());
        Weight fusedCpu = cpu.concatRows(a.cpu(), b.cpu());
        Both<Tensor> x = tensor(values(3, 64, 1.0, 0), false);
        Both<Tensor> out = empty(3, 64, false);
        gpu.matmul(x.gpu(), fusedGpu, out.gpu());
        cpu.matmul(x.cpu(), fusedCpu, out.cpu());
        same("concatRows then matmul", out, 2e-3);
    }

    /** Sequences of one attention scenario: each step adds tokenCounts[s] tokens to sequence s (0 = idle). */
    private record Scenario(String name, int blockSize, int blocksPerSequence, int[][] steps) {
    }

    private void attentions() {
        int[][] configs = {{4, 4, 16}, {8, 2, 16}, {8, 4, 32}, {32, 4, 64}, {16, 1, 128}, {6, 2, 64}};
        Scenario[] scenarios = {
                new Scenario("prefill 45 + 3 decodes", 16, 4, new int[][]{{45}, {1}, {1}, {1}}),
                new Scenario("3 sequences, chunked prefill, mixed and decode batches", 16, 6,
                        new int[][]{{10, 33, 1}, {7, 1, 1}, {1, 1, 1}, {0, 1, 0}}),
                new Scenario("long context, several decode splits", 32, 16, new int[][]{{300}, {1}, {1}}),
                new Scenario("8192-slot block table, several tiles per decode split", 32, 256,
                        new int[][]{{300}, {1}}),
        };
        for (int[] c : configs) {
            for (Scenario s : scenarios) {
                attention(c[0], c[1], c[2], s, "");
            }
        }
        gpu.fuseRope(false);  // decode steps' RoPE as its own kernel too
        attention(32, 4, 64, scenarios[1], " (RoPE not fused)");
        attention(8, 2, 16, scenarios[2], " (RoPE not fused)");
        gpu.fuseRope(true);
        // int8 / fp8 KV: the write quantizes, both attentions dequantize, against the CPU's quantized cache
        for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
            for (int[] c : new int[][]{{8, 2, 16}, {8, 4, 32}, {32, 4, 64}, {16, 1, 128}, {6, 2, 64}}) {
                for (int s = 0; s < 3; s++) {
                    attention(c[0], c[1], c[2], scenarios[s], " kv " + kv.label(), kv);
                }
            }
            gpu.fuseRope(false);
            attention(32, 4, 64, scenarios[1], " kv " + kv.label() + " (RoPE not fused)", kv);
            gpu.fuseRope(true);
        }
    }

    /**
     * An int8/fp8 format whose scales cover |x| up to 6 (the inputs here are N(0, 1), rotated keys alike), so the
     * scale is exercised (not 1) and a few values clamp.
     */
    private static KvCacheFormat kvFormat(KvCacheDtype kv, int layers) {
        float[] scales = new float[layers];
        Arrays.fill(scales, kv == KvCacheDtype.INT8 ? 6f / 127 : 6f / 448);
        return KvCacheFormat.quantized(kv, scales);
    }

    private void attention(int heads, int kvHeads, int headDim, Scenario scenario, String variant) {
        attention(heads, kvHeads, headDim, scenario, variant, KvCacheDtype.AUTO);
    }

    private void attention(int heads, int kvHeads, int headDim, Scenario scenario, String variant, KvCacheDtype kv) {
        String label = "attention h=" + heads + "/" + kvHeads + " d=" + headDim + " " + scenario.name() + variant;
        LlamaConfig config = new LlamaConfig(16, heads * headDim, 32, 2, heads, kvHeads, headDim, 1024, 1e-5f,
                10000.0, false, "float16", 1, List.of(2));
        RopeTable rope = new RopeTable(headDim, 1024, 10000.0);
        KvCacheFormat format = kv.quantized() ? kvFormat(kv, config.numLayers()) : KvCacheFormat.AUTO;
        int sequences = scenario.steps()[0].length;
        int blocks = sequences * scenario.blocksPerSequence();
        List<Integer> shuffled = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            shuffled.add(i);
        }
        java.util.Collections.shuffle(shuffled, new java.util.Random(heads * 31L + headDim));
        int[][] tables = new int[sequences][scenario.blocksPerSequence()];
        for (int s = 0; s < sequences; s++) {
            for (int b = 0; b < tables[s].length; b++) {
                tables[s][b] = shuffled.get(s * tables[s].length + b);
            }
        }
        int qkvCols = (heads + 2 * kvHeads) * headDim;
        int[] lengths = new int[sequences];
        try (KvCache gCache = gpu.kvCache(config, blocks, scenario.blockSize(), format);
             KvCache cCache = cpu.kvCache(config, blocks, scenario.blockSize(), format)) {
            for (int step = 0; step < scenario.steps().length; step++) {
                int[] counts = scenario.steps()[step];
                List<StepBatch.Chunk> chunks = new ArrayList<>();
                List<Integer> positions = new ArrayList<>();
                int row = 0;
                for (int s = 0; s < sequences; s++) {
                    if (counts[s] == 0) {
                        continue;
                    }
                    for (int i = 0; i < counts[s]; i++) {
                        positions.add(lengths[s] + i);
                    }
                    lengths[s] += counts[s];
                    chunks.add(new StepBatch.Chunk(row, counts[s], lengths[s], tables[s]));
                    row += counts[s];
                }
                int n = row;
                int[] pos = positions.stream().mapToInt(Integer::intValue).toArray();
                StepBatch batch = new StepBatch(new int[n], pos, chunks, new int[0]);
                Both<Tensor> qkv = tensor(values(n, qkvCols, 1.0, 0), false);
                Both<Tensor> out = empty(n, heads * headDim, false);
                gpu.ropeAndStoreKv(qkv.gpu(), gCache, 0, batch, rope);
                cpu.ropeAndStoreKv(qkv.cpu(), cCache, 0, batch, rope);
                gpu.attention(qkv.gpu(), gCache, 0, batch, out.gpu());
                cpu.attention(qkv.cpu(), cCache, 0, batch, out.cpu());
                if (step == 0) {
                    same(label + ": rope", qkv, 2e-3);
                }
                // a quantized key may round to the other side of a step where the two RoPEs differ in the last bit
                same(label + ": step " + step + " (" + n + " rows)", out, format.quantized() ? 2e-2 : 1e-2);
            }
        }
    }

    private static double relativeDifference(float[][] reference, float[][] other) {
        double err = 0;
        double ref = 0;
        for (int r = 0; r < reference.length; r++) {
            for (int i = 0; i < reference[r].length; i++) {
                err = Math.max(err, Math.abs(reference[r][i] - other[r][i]));
                ref = Math.max(ref, Math.abs(reference[r][i]));
            }
        }
        return err / Math.max(ref, 1e-30);
    }

    private void argmax() {
        float[][] logits = values(4, 32000, 3.0, 0);
        logits[1][7] = 50f;
        logits[1][9] = 50f;  // a tie: the first index wins, as torch.argmax
        logits[2][31999] = 60f;
        Both<Tensor> t = tensor(logits, true);
        int[] g = gpu.argmaxRows(t.gpu());
        int[] c = cpu.argmaxRows(t.cpu());
        boolean ok = Arrays.equals(g, c) && g[1] == 7 && g[2] == 31999;
        record(new Check("argmax rows (ties -> first index)", ok ? 0 : 1, 0, 0, ok,
                "gpu " + Arrays.toString(g) + " cpu " + Arrays.toString(c)));
    }

    // ---- whole models -------------------------------------------------------------------------------------

    private void models(Path scratch) {
        LlamaConfig gqa = new LlamaConfig(512, 256, 640, 3, 8, 2, 32, 512, 1e-5f, 10000.0, true, "float16", 1,
                List.of(2));
        LlamaConfig mha = new LlamaConfig(384, 256, 512, 2, 4, 4, 64, 512, 1e-6f, 500000.0, false, "bfloat16", 1,
                List.of(2));
        model("model GQA 8/2 d32 tied fp16", gqa, DType.F16, scratch.resolve("gqa"));
        model("model MHA 4 d64 untied bf16", mha, DType.BF16, scratch.resolve("mha"));
    }

    private void model(String name, LlamaConfig config, DType dtype, Path dir) {
        RandomCheckpoint.write(config, new RandomCheckpoint.Options(7, dtype, 0.15, 0.2, LlamaConfig.Spelling.HF4,
                null), dir);
        int[] prompt = new int[45];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 3 + random.nextInt(config.vocabSize() - 3);
        }
        float[][] cpuLogits;
        GreedyDecode.Result cpuGreedy;
        float[][] cpuContinuationLogits;  // next-token logits at each greedy step, for judging a divergence
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, 0))) {
            cpuLogits = m.model().promptLogits(prompt);
            cpuGreedy = GreedyDecode.run(m.model(), prompt, 16);
            int[] all = Arrays.copyOf(prompt, prompt.length + 15);
            System.arraycopy(cpuGreedy.tokens(), 0, all, prompt.length, 15);
            cpuContinuationLogits = Arrays.copyOfRange(m.model().promptLogits(all), prompt.length - 1, all.length);
        }
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            CudaBackend b = (CudaBackend) m.backend();
            LlamaModel model = m.model();
            compare(name + ": prompt logits vs CPU fp32", cpuLogits, model.promptLogits(prompt), 2e-2);
            b.useGraphs(false);
            GreedyDecode.Result eager = GreedyDecode.run(model, prompt, 16);
            b.useGraphs(true);
            GreedyDecode.Result graphed = GreedyDecode.run(model, prompt, 16);
            GreedyDecode.Result replayed = GreedyDecode.run(model, prompt, 16);
            greedyAgainstCpu(name, cpuGreedy.tokens(), eager.tokens(), cpuContinuationLogits);
            b.fuseRope(false);
            b.useGraphs(false);
            int[] unfused = GreedyDecode.run(model, prompt, 16).tokens();
            b.useGraphs(true);
            b.fuseRope(true);
            boolean fusionSame = Arrays.equals(unfused, eager.tokens());
            record(new Check(name + ": greedy with RoPE fused into attention = not fused", fusionSame ? 0 : 1, 0, 0,
                    fusionSame, fusionSame ? "" : "fused " + Arrays.toString(eager.tokens()) + " not fused "
                    + Arrays.toString(unfused)));
            boolean graphsSame = Arrays.equals(eager.tokens(), graphed.tokens())
                    && Arrays.equals(eager.tokens(), replayed.tokens());
            record(new Check(name + ": greedy with CUDA graphs = eager", graphsSame ? 0 : 1, 0, 0, graphsSame,
                    b.graphReport()));
            if (b.pdlAvailable()) {  // programmatic dependent launch changes scheduling only: same bits either way
                b.usePdl(false);
                int[] withoutPdl = GreedyDecode.run(model, prompt, 16).tokens();
                float[][] logitsWithoutPdl = model.promptLogits(prompt);
                b.usePdl(true);
                float[][] logitsWithPdl = model.promptLogits(prompt);
                boolean same = Arrays.equals(withoutPdl, replayed.tokens())
                        && Arrays.deepEquals(logitsWithPdl, logitsWithoutPdl);
                record(new Check(name + ": PDL on = off (greedy tokens, logits bit for bit)", same ? 0 : 1, 0, 0, same,
                        same ? "" : "PDL on " + Arrays.toString(replayed.tokens()) + " off "
                                + Arrays.toString(withoutPdl)));
            }
            boolean recorded = b.graphReplays() > 0;
            record(new Check(name + ": decode steps were replayed from graphs", recorded ? 0 : 1, 0, 0, recorded,
                    b.graphReport()));
        }
        for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
            quantizedKvModel(name, dir, kv, prompt, cpuLogits);
        }
    }

    /**
     * The whole model with an int8/fp8 KV cache: CUDA against the CPU with the same scales, graphs and eager. The
     * CUDA engine's fp16 activations put some keys and values on the other side of a quantization step than the CPU's
     * fp32 ones, and the random models amplify that through their layers: the logits may differ by up to twice what
     * the quantization itself changes on the CPU (fp8's 3 mantissa bits are coarser than int8's 254 steps here; on
     * these random models int8 moves the logits by ~7 % of max|logit|, fp8 with ModelOpt's unit scale by ~20-26 %).
     * The kernels' own precision is checked at the attention level above.
     */
    private void quantizedKvModel(String name, Path dir, KvCacheDtype kv, int[] prompt, float[][] cpuFp32) {
        String label = name + ", kv " + kv.label();
        KvCacheFormat format;
        float[][] cpuLogits;
        GreedyDecode.Result cpuGreedy;
        float[][] cpuContinuationLogits;
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, 0))) {
            // scales as the converter computes them (max |k|, |v| over the prompt): no tokenizer for calib.txt here
            format = KvCacheFormat.quantized(kv, m.calibrateKvScales(kv, List.of(prompt)));
            m.model().useKvCacheFormat(format);
            cpuLogits = m.model().promptLogits(prompt);
            cpuGreedy = GreedyDecode.run(m.model(), prompt, 16);
            int[] all = Arrays.copyOf(prompt, prompt.length + 15);
            System.arraycopy(cpuGreedy.tokens(), 0, all, prompt.length, 15);
            cpuContinuationLogits = Arrays.copyOfRange(m.model().promptLogits(all), prompt.length - 1, all.length);
        }
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            CudaBackend b = (CudaBackend) m.backend();
            m.model().useKvCacheFormat(format);
            double quantization = relativeDifference(cpuFp32, cpuLogits);
            record(new Check(label + ": CPU logits vs its fp32 KV (the quantization's own effect)",
                    quantization, 1, 0.5, quantization > 0 && quantization < 0.5, "scales " + format));
            compare(label + ": prompt logits vs CPU", cpuLogits, m.model().promptLogits(prompt),
                    Math.max(3e-2, 2 * quantization));
            b.useGraphs(false);
            GreedyDecode.Result eager = GreedyDecode.run(m.model(), prompt, 16);
            b.useGraphs(true);
            GreedyDecode.Result graphed = GreedyDecode.run(m.model(), prompt, 16);
            greedyAgainstCpu(label, cpuGreedy.tokens(), eager.tokens(), cpuContinuationLogits);
            boolean graphsSame = Arrays.equals(eager.tokens(), graphed.tokens());
            record(new Check(label + ": greedy with CUDA graphs = eager", graphsSame ? 0 : 1, 0, 0, graphsSame,
                    b.graphReport()));
        }
    }

    /**
     * Greedy continuations must be identical, except that fp16 may flip a near-tie: a first divergence where the
     * CPU's two best logits are within {@value #NEAR_TIE} of its largest |logit| is reported but passes.
     */
    private void greedyAgainstCpu(String name, int[] cpu, int[] cuda, float[][] cpuLogits) {
        int at = 0;
        while (at < cpu.length && cpu[at] == cuda[at]) {
            at++;
        }
        if (at == cpu.length) {
            record(new Check(name + ": greedy 16 tokens, CUDA vs CPU", 0, 0, 0, true, "identical"));
            return;
        }
        float[] l = cpuLogits[at];
        double max = 0;
        for (float v : l) {
            max = Math.max(max, Math.abs(v));
        }
        double gap = (l[cpu[at]] - l[cuda[at]]) / max;
        boolean nearTie = gap <= NEAR_TIE;
        record(new Check(name + ": greedy 16 tokens, CUDA vs CPU", gap, 1, NEAR_TIE, nearTie, String.format(
                "first difference at token %d, where the CPU's logits for its choice and CUDA's differ by %.2e of"
                        + " max|logit| (%s); cpu %s cuda %s", at, gap, nearTie ? "a near-tie fp16 may flip" : "NOT a tie",
                Arrays.toString(cpu), Arrays.toString(cuda))));
    }

    private static final double NEAR_TIE = 1e-2;

    private void write(Path file) throws IOException {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("passed", checks.stream().allMatch(Check::passed));
        ArrayNode list = root.putArray("checks");
        for (Check c : checks) {
            list.addObject().put("name", c.name()).put("passed", c.passed()).put("max_abs_error", c.maxAbsError())
                    .put("max_reference", c.maxReference()).put("relative_error", c.relativeError())
                    .put("tolerance", c.tolerance()).put("note", c.note());
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), root);
    }

    /** Runs all checks and returns them (for tests on a machine with a GPU). */
    static List<Check> runAll(Path scratch) throws IOException {
        CudaSelfTest t = new CudaSelfTest();
        t.tmp = scratch;
        t.call();
        return List.copyOf(t.checks);
    }
}
