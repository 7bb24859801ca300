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
import dev.tinyrt.backend.SamplingRow;
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
import dev.tinyrt.runtime.Sampler;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
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
 * groups, head dims 16 to 128, chunked prefill, mixed batches; fp16, int8 and fp8 KV caches), the batched decode
 * attention (ragged batches, and bit for bit the same output for a sequence alone or batched), gathers, argmax,
 * sampling — then whole random models (fp16 and int8/fp8 KV), CUDA against CPU and graphs against eager. Prints one
 * line per check and exits 1 if any fails.
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
    @Option(names = "--only", split = ",", description = "run only these groups: ${COMPLETION-CANDIDATES}")
    List<Group> only;

    /** Groups of checks, in the order they run. */
    enum Group {
        elementwise, matmul, quantized_matmul, fused_boundaries, attention, batched_attention, argmax, sampling, models,
        quantized_models
    }

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
            guard(Group.elementwise, this::elementwise);
            guard(Group.matmul, this::matmuls);
            guard(Group.quantized_matmul, this::quantizedMatmuls);
            guard(Group.fused_boundaries, () -> {
                fusedBoundaries(256, 160);
                // rows of 2,176 columns: more than one staged pass per row for every format (staged.cuh)
                fusedBoundaries(2176, 48);
            });
            guard(Group.attention, this::attentions);
            guard(Group.batched_attention, this::batchedAttentions);
            guard(Group.argmax, this::argmax);
            guard(Group.sampling, this::sampling);
        }
        guard(Group.models, () -> models(scratch));
        guard(Group.quantized_models, () -> quantizedModels(scratch));
        long failed = checks.stream().filter(k -> !k.passed()).count();
        System.out.printf("%s: %d checks, %d failed%n", failed == 0 ? "PASS" : "FAIL", checks.size(), failed);
        if (out != null) {
            write(out);
        }
        return failed == 0 ? 0 : 1;
    }

    /** Runs a group (if selected); an exception is a failed check (with its message), and the others still run. */
    private void guard(Group group, Runnable body) {
        if (only != null && !only.contains(group)) {
            return;
        }
        long start = System.nanoTime();
        try {
            body.run();
        } catch (RuntimeException | AssertionError e) {
            e.printStackTrace(System.out);
            record(new Check(group + " (exception)", Double.NaN, Double.NaN, 0, false, e.toString()));
        }
        System.out.printf("group %s: %.1f s%n", group, (System.nanoTime() - start) / 1e9);
    }

    private void record(Check c) {
        checks.add(c);
        System.out.printf("%-4s %-64s err %.3e  max|ref| %.3e  rel %.2e  (tol %.0e)%s%n", c.passed() ? "ok" : "FAIL",
                c.name(), c.maxAbsError(), c.maxReference(), c.relativeError(), c.tolerance(),
                c.note().isEmpty() ? "" : "  " + c.note());
    }

    private void compare(String name, float[][] expected, float[][] actual, double tolerance) {
        Diff d = Diff.of(expected, actual);
        record(new Check(name, d.err(), d.ref(), tolerance, d.within(tolerance), d.finite() ? "" : "non-finite values"));
    }

    /** Max |expected - actual|, max |expected|, and whether every actual value is finite. */
    private record Diff(double err, double ref, boolean finite) {
        static Diff of(float[][] expected, float[][] actual) {
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
            return new Diff(err, ref, finite);
        }

        boolean within(double tolerance) {
            return finite && err <= tolerance * Math.max(ref, 1e-6);
        }
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
        // split-K: every count of warps per row, rows not a multiple of the block's (idle warps join the reduction)
        List<Both<Weight>> splitWeights = List.of(weight("w f16", values(77, 1024, 0.02, 0)),
                weight(int8("w8", 77, 1024, null)), weight(int4("w4", 77, 1024, 128, preScale(1024))));
        for (int ks : new int[]{1, 2, 4, 8}) {
            gpu.forceSplitK(ks);
            for (Both<Weight> w : splitWeights) {
                for (int n : new int[]{1, 3, 8}) {
                    MatmulTactics.Shape shape = new MatmulTactics.Shape(n, 77, 1024, false, false, w.gpu().format());
                    gpu.forceTactic(shape, MatmulTactics.Tactic.GEMV);
                    Both<Tensor> x = tensor(values(n, 1024, 1.0, 0), false);
                    Both<Tensor> out = empty(n, 77, false);
                    gpu.matmul(x.gpu(), w.gpu(), out.gpu());
                    cpu.matmul(x.cpu(), w.cpu(), out.cpu());
                    same(String.format("matmul %s n=%d m=77 k=1024 GEMV split-k %d", w.gpu().format(), n, ks), out,
                            2e-3);
                }
            }
        }
        gpu.forceSplitK(0);
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

    // ---- quantized weights ---------------------------------------------------------------------------------

    /** Random int8 weights (all of -127..127) with per-row scales. */
    private WeightData.Int8PerChannel int8(String name, int rows, int cols, float[] preScale) {
        MemorySegment q = arena.allocate((long) rows * cols, 16);
        for (long i = 0; i < q.byteSize(); i++) {
            q.set(ValueLayout.JAVA_BYTE, i, (byte) (random.nextInt(255) - 127));
        }
        float[] scales = new float[rows];
        for (int r = 0; r < rows; r++) {
            scales[r] = (float) (0.02 / 127 * (0.5 + random.nextDouble()));
        }
        return new WeightData.Int8PerChannel(name, rows, cols, q, scales, preScale);
    }

    /** Random SmoothQuant weights: int8 values, per-row scales, a pre-scale (null: none). */
    private WeightData.Int8W8A8 w8a8(String name, int rows, int cols, float[] preScale) {
        WeightData.Int8PerChannel q = int8(name, rows, cols, null);
        return new WeightData.Int8W8A8(name, rows, cols, q.weights(), q.scales(), preScale);
    }

    /** Random int4 weights (every nibble -8..7) with a scale per row and group. */
    private WeightData.Int4PerGroup int4(String name, int rows, int cols, int group, float[] preScale) {
        MemorySegment q = arena.allocate((long) rows * cols / 2, 16);
        for (long i = 0; i < q.byteSize(); i++) {
            q.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
        }
        float[] scales = new float[rows * (cols / group)];
        for (int i = 0; i < scales.length; i++) {  // fp16-exact, as checkpoints store them
            scales[i] = Numerics.f16ToFloat(Numerics.floatToF16((float) (0.05 / 7 * (0.5 + random.nextDouble()))));
        }
        return new WeightData.Int4PerGroup(name, rows, cols, group, q, scales, preScale);
    }

    /** Random e4m3 weights (every finite code; no NaN 0x7F/0xFF). */
    private WeightData.Fp8PerTensor fp8(String name, int rows, int cols, float activationScale) {
        MemorySegment q = arena.allocate((long) rows * cols, 16);
        for (long i = 0; i < q.byteSize(); i++) {
            int b;
            do {
                b = random.nextInt(256);
            } while ((b & 0x7F) == 0x7F);
            q.set(ValueLayout.JAVA_BYTE, i, (byte) b);
        }
        return new WeightData.Fp8PerTensor(name, rows, cols, q, 0.02f / 448, activationScale);
    }

    /** An AWQ-like pre-scale: positive, around 1. */
    private float[] preScale(int cols) {
        float[] p = new float[cols];
        for (int i = 0; i < cols; i++) {
            p[i] = (float) Math.exp(0.4 * random.nextGaussian());
        }
        return p;
    }

    private Both<Weight> weight(WeightData d) {
        return new Both<>(gpu.weight(d), cpu.weight(d));
    }

    /**
     * W8A16, W4A16 (group 128 and per row), AWQ (pre-scaled), FP8 and W8A8 (SmoothQuant, with and without a
     * pre-scale) weights against the CPU backend's quantized
     * matmuls: the GEMV dequantizing in registers for 1..8 rows, the prefill path (dequantized copy + cuBLAS), the
     * gate|up GEMV with SwiGLU over weights fused with two different pre-scales, q|k|v fused with a shared one,
     * and a shape the kernels cannot read (dequantized to fp16 at load).
     */
    private void quantizedMatmuls() {
        int[][] shapes = {{256, 2048}, {64, 5632}, {200, 256}};
        for (int[] s : shapes) {
            int m = s[0];
            int k = s[1];
            List<WeightData> forms = List.of(int8("w8", m, k, null), int4("w4g128", m, k, 128, null),
                    int4("w4row", m, k, k, null), int4("awq", m, k, 128, preScale(k)), fp8("fp8", m, k, 3.5f / 448),
                    w8a8("w8a8", m, k, preScale(k)), w8a8("w8a8 unscaled", m, k, null));
            for (WeightData d : forms) {
                Both<Weight> w = weight(d);
                String label = d.name() + " " + w.gpu().format();
                for (int n : new int[]{1, 2, 3, 5, 8, 16}) {
                    Both<Tensor> x = tensor(values(n, k, 1.0, 0), false);
                    for (boolean wideOut : new boolean[]{false, true}) {
                        for (MatmulTactics.Tactic t : MatmulTactics.Tactic.values()) {
                            MatmulTactics.Shape shape = new MatmulTactics.Shape(n, m, k, wideOut, false,
                                    w.gpu().format());
                            if (t == MatmulTactics.Tactic.GEMV && !MatmulTactics.gemvApplies(shape)) {
                                continue;
                            }
                            gpu.forceTactic(shape, t);
                            Both<Tensor> out = empty(n, m, wideOut);
                            gpu.matmul(x.gpu(), w.gpu(), out.gpu());
                            cpu.matmul(x.cpu(), w.cpu(), out.cpu());
                            // the int8/int4 GEMVs multiply in fp16 pairs (q/128 or q/8 times x, four products
                            // summed per pair, qgemv.cuh): ~3e-4 relative, a tenth of the quantization's own error
                            same(String.format("matmul %s n=%d m=%d k=%d %s%s", label, n, m, k, t,
                                    wideOut ? " fp32-out" : ""), out, t == MatmulTactics.Tactic.GEMV && wideOut
                                    ? 1e-3 : 3e-3);
                        }
                    }
                }
            }
        }
        int inner = 160;
        int k = 256;
        float[] smoothing = preScale(k);  // SmoothQuant gate|up share one (SmoothQuant.columnAbsMax)
        for (int variant = 0; variant < 5; variant++) {
            WeightData gate = variant == 0 ? int8("gate", inner, k, null) : variant == 3 ? fp8("gate", inner, k, 0.01f)
                    : variant == 4 ? w8a8("gate", inner, k, smoothing)
                    : int4("gate", inner, k, 128, variant == 2 ? preScale(k) : null);
            WeightData up = variant == 0 ? int8("up", inner, k, null) : variant == 3 ? fp8("up", inner, k, 0.01f)
                    : variant == 4 ? w8a8("up", inner, k, smoothing)
                    : int4("up", inner, k, 128, variant == 2 ? preScale(k) : null);
            Both<Weight> g = weight(gate);
            Both<Weight> u = weight(up);
            Weight fusedGpu = gpu.concatRows(g.gpu(), u.gpu());
            Weight fusedCpu = cpu.concatRows(g.cpu(), u.cpu());
            String label = fusedGpu.format() + (variant == 2 ? " AWQ (two pre-scales)" : "");
            for (int n : new int[]{1, 3, 8, 16}) {
                Both<Tensor> x = tensor(values(n, k, 1.0, 0), false);
                for (MatmulTactics.Tactic t : MatmulTactics.Tactic.values()) {
                    MatmulTactics.Shape shape = new MatmulTactics.Shape(n, inner, k, false, true, fusedGpu.format());
                    if (t == MatmulTactics.Tactic.GEMV && !MatmulTactics.gemvApplies(shape)) {
                        continue;
                    }
                    gpu.forceTactic(shape, t);
                    Both<Tensor> gateUpOut = empty(n, 2 * inner, false);
                    Both<Tensor> act = empty(n, inner, false);
                    gpu.matmulSwiglu(x.gpu(), fusedGpu, gateUpOut.gpu(), act.gpu());
                    cpu.matmulSwiglu(x.cpu(), fusedCpu, gateUpOut.cpu(), act.cpu());
                    same(String.format("matmul+swiglu %s n=%d I=%d k=%d %s", label, n, inner, k, t), act, 3e-3);
                }
            }
        }
        float[] shared = preScale(k);
        List<Both<Weight>> qkv = List.of(weight(int4("q", 128, k, 128, shared)), weight(int4("k", 32, k, 128, shared)),
                weight(int4("v", 32, k, 128, shared)));
        Weight qkvGpu = gpu.concatRows(qkv.stream().map(Both::gpu).toArray(Weight[]::new));
        Weight qkvCpu = cpu.concatRows(qkv.stream().map(Both::cpu).toArray(Weight[]::new));
        Both<Tensor> x = tensor(values(2, k, 1.0, 0), false);
        Both<Tensor> out = empty(2, 192, false);
        gpu.matmul(x.gpu(), qkvGpu, out.gpu());
        cpu.matmul(x.cpu(), qkvCpu, out.cpu());
        same("AWQ q|k|v fused (one shared pre-scale) then matmul", out, 3e-3);
        // the CPU has no int4 kernel for this shape either: its reference is the dequantized weight in fp32
        WeightData.Int4PerGroup oddData = int4("w4 k=104 group 8", 24, 104, 8, preScale(104));
        float[] effective = dev.tinyrt.quant.WeightDecoder.effective(oddData);
        MemorySegment f32 = arena.allocate(4L * effective.length, 16);
        MemorySegment.copy(effective, 0, f32, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, effective.length);
        Both<Weight> odd = new Both<>(gpu.weight(oddData), cpu.weight(new WeightData.Dense("w4 k=104 reference",
                DType.F32, 24, 104, f32)));
        boolean fallback = odd.gpu().format().equals("F16");
        Both<Tensor> xo = tensor(values(3, 104, 1.0, 0), false);
        Both<Tensor> oo = empty(3, 24, false);
        gpu.matmul(xo.gpu(), odd.gpu(), oo.gpu());
        cpu.matmul(xo.cpu(), odd.cpu(), oo.cpu());
        same("int4 k=104 group 8 (no kernel: dequantized to fp16 at load" + (fallback ? ")" : ", NOT DONE)"), oo,
                fallback ? 3e-3 : 0);
        gpu.resetTactics();
    }

    /**
     * A decode layer's block boundaries with the residual add fused into the product before them and the RMSNorm
     * into the product after them, against the same ops unfused: every output bit for bit (fp16, W8A16, W4A16),
     * with the register kernels and with the staged ones (staged.cuh: weights through shared memory; where they
     * apply, no pre-scale).
     */
    private void fusedBoundaries(int hidden, int inner) {
        float[][] res = values(1, hidden, 1.0, 0);
        Both<Tensor> attn = tensor(values(1, hidden, 1.0, 0), false);
        Both<Weight> gamma = weight("gamma", values(1, hidden, 0.1, 1.0));
        List<WeightData[]> sets = List.of(
                new WeightData[]{dense("o", values(hidden, hidden, 0.05, 0)), dense("qkv", values(384, hidden, 0.05, 0)),
                        dense("gate_up", values(2 * inner, hidden, 0.05, 0))},
                new WeightData[]{int8("o", hidden, hidden, null), int8("qkv", 384, hidden, null),
                        int8("gate_up", 2 * inner, hidden, null)},
                new WeightData[]{int4("o", hidden, hidden, 128, null), int4("qkv", 384, hidden, 128, null),
                        int4("gate_up", 2 * inner, hidden, 128, null)},
                new WeightData[]{int4("o", hidden, hidden, 128, preScale(hidden)), int4("qkv", 384, hidden, 128, null),
                        int4("gate_up", 2 * inner, hidden, 128, preScale(hidden))},
                // AWQ: q|k|v with one pre-scale, gate and up with one each (fused: two halves)
                new WeightData[]{int4("o", hidden, hidden, 128, preScale(hidden)),
                        int4("qkv", 384, hidden, 128, preScale(hidden)), int4("gate", inner, hidden, 128,
                        preScale(hidden)), int4("up", inner, hidden, 128, preScale(hidden))});
        for (WeightData[] set : sets) {
            Weight o = gpu.weight(set[0]);
            Weight qkv = gpu.weight(set[1]);
            Weight gateUp = set.length == 4 ? gpu.concatRows(gpu.weight(set[2]), gpu.weight(set[3]))
                    : gpu.weight(set[2]);
            for (MatmulTactics.Shape shape : List.of(new MatmulTactics.Shape(1, 384, hidden, false, false, o.format()),
                    new MatmulTactics.Shape(1, hidden, hidden, false, false, o.format()),
                    new MatmulTactics.Shape(1, inner, hidden, false, true, o.format()))) {
                gpu.forceTactic(shape, MatmulTactics.Tactic.GEMV);  // the fused kernels exist for the GEMV only
            }
            // 0: unfused, 1: fused (register kernels), 2: fused (staged kernels)
            float[][][] results = new float[3][][];
            List<List<String>> fusedOps = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            for (int fused = 0; fused < 3; fused++) {
                gpu.fuseNorms(fused >= 1);
                gpu.useStagedGemv(fused == 2);
                if (fused >= 1) {
                    gpu.beginProfile();
                }
                Tensor r = tensor(res, true).gpu();
                Tensor proj = gpu.tensor(1, hidden);
                Tensor normed = gpu.tensor(1, hidden);
                Tensor q = gpu.tensor(1, 384);
                Tensor gu = gpu.tensor(1, 2 * inner);
                Tensor act = gpu.tensor(1, inner);
                gpu.rmsNorm(r, gamma.gpu(), 1e-5f, normed);
                gpu.matmul(normed, qkv, q);
                gpu.matmul(attn.gpu(), o, proj);
                gpu.addRmsNorm(r, proj, gamma.gpu(), 1e-5f, normed);
                gpu.matmulSwiglu(normed, gateUp, gu, act);
                gpu.matmul(attn.gpu(), o, proj);
                gpu.addRmsNorm(r, proj, gamma.gpu(), 1e-5f, normed);
                List<float[]> rows = new ArrayList<>();
                for (Tensor t : new Tensor[]{q, act, proj, r, normed}) {
                    rows.add(gpu.toHost(t)[0]);
                }
                results[fused] = rows.toArray(float[][]::new);
                if (fused >= 1) {
                    List<String> sink = fusedOps.get(fused);
                    gpu.endProfile().forEach(op -> sink.add(op.label()));
                }
            }
            gpu.useStagedGemv(false);
            gpu.fuseNorms(true);
            // AWQ's pre-scale: the fused kernels stage x * pre in fp16 and multiply in fp16 pairs, the unfused ones
            // scale every weight in fp32 (qgemv.cuh): the same up to fp16 rounding, not bit for bit
            boolean preScaled = set[0] instanceof WeightData.Int4PerGroup g && g.preScale() != null;
            // the staged kernels take the products whose weight has no pre-scale: o twice, q|k|v, gate|up
            long stageable = 2L * unscaled(o) + unscaled(qkv) + unscaled(gateUp);
            // the staged kernels take no split-K: where the register kernels split a row (fp16 rows over 4 KB),
            // the sums are added in another order and an fp16 output may round the other way
            boolean split = java.util.stream.Stream.of(o, qkv, gateUp)
                    .anyMatch(w -> KernelNames.splitK(((CudaWeight) w).valueBytesPerRow(), 0) > 1);
            for (int variant = 1; variant <= 2; variant++) {
                List<String> ops = fusedOps.get(variant);
                double tolerance = preScaled ? 3e-3 : variant == 2 && split ? 1e-3 : 0;
                // the fused run must really have used the fused kernels: q|k|v and gate|up with the norm, o twice
                // with the add, and the staged run the staged ones where they apply
                long prologues = ops.stream().filter(l -> l.endsWith("+ rms_norm")).count();
                long epilogues = ops.stream().filter(l -> l.endsWith("+ residual add")).count();
                long staged = ops.stream().filter(l -> l.contains(" staged + ")).count();
                Diff d = Diff.of(results[0], results[variant]);
                boolean close = tolerance > 0 ? d.within(tolerance) : Arrays.deepEquals(results[0], results[variant]);
                boolean same = close && prologues == 2 && epilogues == 2 && staged == (variant == 2 ? stageable : 0);
                record(new Check("decode block boundaries " + o.format() + (preScaled ? " AWQ" : "") + " k " + hidden
                        + ": residual add and RMSNorm fused into the " + (variant == 2 ? "staged " : "") + "GEMVs = "
                        + "unfused, " + (preScaled ? "within 3e-3 (pre-scale staged in fp16)"
                        : tolerance > 0 ? "within 1e-3 (no split-K: sums in another order)" : "bit for bit"),
                        d.err(), d.ref(), tolerance, same, same ? "" : "outputs differ or not fused: "
                        + ops + (variant == 2 ? " (" + stageable + " staged expected)" : "")));
            }
        }
    }

    /** 1 for a weight without a pre-scale (the staged kernels take it), else 0. */
    private static int unscaled(Weight w) {
        return ((CudaWeight) w).preScale() == 0 ? 1 : 0;
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
        // both variants of the latency decode kernel by name (by default a step takes the wide one, a head per
        // 512-thread block whose short contexts take one split and no merge, where its blocks fit one wave)
        Boolean setting = gpu.wideDecodeAttention();
        for (boolean wide : new boolean[]{true, false}) {
            gpu.wideDecodeAttention(wide);
            for (int[] c : configs) {
                for (Scenario s : scenarios) {
                    attention(c[0], c[1], c[2], s, wide ? " (wide decode kernel)" : "");
                }
            }
        }
        gpu.wideDecodeAttention(true);
        for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
            attention(32, 4, 64, scenarios[2], " kv " + kv.label() + " (wide decode kernel)", kv);
        }
        gpu.wideDecodeAttention(setting);
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

    /**
     * The batched decode attention kernel (forced for every decode step): against the CPU over ragged batches (GQA
     * groups 8, 6 and 4, MHA, head dims 64 and 128, contexts of 1 to 131 keys across block and split boundaries, one
     * split and several), and a sequence's output bits alone = in a batch; on int8 and fp8 KV caches also against
     * the latency kernel reading the same quantized cache.
     */
    private void batchedAttentions() {
        Scenario ragged = new Scenario("ragged batch, 1..131 keys", 32, 5,
                new int[][]{{31, 32, 33, 64, 65, 130, 0}, {1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1}});
        long before = gpu.batchedAttentionLaunches();
        try {
            gpu.batchAttention(1, DecodeAttention.BATCH_SPLIT_KEYS);
            for (int[] c : new int[][]{{32, 4, 64}, {8, 8, 64}, {16, 2, 128}, {8, 2, 128}, {12, 2, 64}}) {
                attention(c[0], c[1], c[2], ragged, " (batched kernel)");
            }
            gpu.batchAttention(1, 64);  // a split per 64-key tile: several splits merged
            attention(32, 4, 64, ragged, " (batched kernel, 64-key splits)");
            attention(4, 4, 128, ragged, " (batched kernel, 64-key splits)");
            gpu.fuseRope(false);
            attention(32, 4, 64, ragged, " (batched kernel, 64-key splits, RoPE not fused)");
            gpu.fuseRope(true);
            for (int splitKeys : new int[]{DecodeAttention.BATCH_SPLIT_KEYS, 64}) {
                gpu.batchAttention(1, splitKeys);
                batchInvariance(32, 4, 64, splitKeys, KvCacheDtype.AUTO);
                batchInvariance(8, 8, 128, splitKeys, KvCacheDtype.AUTO);
            }
            // int8 / fp8 KV: the fused write quantizes, the kernel widens the tiles and folds the layer's scale in
            for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
                String label = " kv " + kv.label() + " (batched kernel";
                gpu.batchAttention(1, DecodeAttention.BATCH_SPLIT_KEYS);
                attention(32, 4, 64, ragged, label + ")", kv);
                attention(8, 2, 128, ragged, label + ")", kv);
                batchInvariance(32, 4, 64, DecodeAttention.BATCH_SPLIT_KEYS, kv);
                kernelsAgree(8, 8, 128, DecodeAttention.BATCH_SPLIT_KEYS, kv);
                gpu.batchAttention(1, 64);
                attention(12, 2, 64, ragged, label + ", 64-key splits)", kv);
                batchInvariance(8, 8, 128, 64, kv);
                kernelsAgree(32, 4, 64, 64, kv);
            }
        } finally {
            gpu.fuseRope(true);
            gpu.batchAttention(DecodeAttention.batchFromProperty(), DecodeAttention.BATCH_SPLIT_KEYS);
        }
        long launches = gpu.batchedAttentionLaunches() - before;
        record(new Check("batched decode attention kernel ran", launches > 0 ? 0 : 1, 0, 0, launches > 0,
                launches + " launches"));
    }

    /** Sequences of the batch-invariance and kernel-agreement checks: contexts of 0 to 130 keys, 5 blocks of 32. */
    private static final int[] DECODE_LENGTHS = {0, 1, 31, 32, 33, 70, 130};
    private static final int DECODE_BLOCK = 32;
    private static final int DECODE_BLOCKS_PER_SEQUENCE = 5;

    /** A KV cache of layer 0 filled by prefilling {@link #DECODE_LENGTHS} keys of each sequence. */
    private KvCache prefilled(int heads, int kvHeads, int headDim, KvCacheDtype kv, RopeTable rope, int[][] tables) {
        LlamaConfig config = new LlamaConfig(16, heads * headDim, 32, 2, heads, kvHeads, headDim, 1024, 1e-5f,
                10000.0, false, "float16", 1, List.of(2));
        KvCacheFormat format = kv.quantized() ? kvFormat(kv, config.numLayers()) : KvCacheFormat.AUTO;
        KvCache cache = gpu.kvCache(config, DECODE_LENGTHS.length * DECODE_BLOCKS_PER_SEQUENCE, DECODE_BLOCK, format);
        List<StepBatch.Chunk> prompts = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        for (int s = 0; s < DECODE_LENGTHS.length; s++) {
            if (DECODE_LENGTHS[s] > 0) {
                prompts.add(new StepBatch.Chunk(positions.size(), DECODE_LENGTHS[s], DECODE_LENGTHS[s], tables[s]));
                for (int i = 0; i < DECODE_LENGTHS[s]; i++) {
                    positions.add(i);
                }
            }
        }
        int n = positions.size();
        StepBatch prefill = new StepBatch(new int[n], positions.stream().mapToInt(Integer::intValue).toArray(),
                prompts, new int[0]);
        Tensor qkv = tensor(values(n, (heads + 2 * kvHeads) * headDim, 1.0, 0), false).gpu();
        gpu.ropeAndStoreKv(qkv, cache, 0, prefill, rope);
        gpu.attention(qkv, cache, 0, prefill, gpu.tensor(n, heads * headDim));
        return cache;
    }

    private static String kvSuffix(KvCacheDtype kv) {
        return kv.quantized() ? " kv " + kv.label() : "";
    }

    /**
     * Each sequence's decode output alone must equal, bit for bit, its row of the same step batched with the others
     * (contexts of 0 to 130 keys; the new key's RoPE and cache write are fused, and rewrite the same values).
     */
    private void batchInvariance(int heads, int kvHeads, int headDim, int splitKeys, KvCacheDtype kv) {
        String label = "batched attention h=" + heads + "/" + kvHeads + " d=" + headDim + kvSuffix(kv) + " split "
                + splitKeys + ": alone = batched, bit for bit";
        RopeTable rope = new RopeTable(headDim, 1024, 10000.0);
        int[] lengths = DECODE_LENGTHS;
        int[][] tables = shuffledTables(lengths.length, DECODE_BLOCKS_PER_SEQUENCE, heads * 17L + headDim);
        int qkvCols = (heads + 2 * kvHeads) * headDim;
        try (KvCache cache = prefilled(heads, kvHeads, headDim, kv, rope, tables)) {
            float[][] rows = values(lengths.length, qkvCols, 1.0, 0);
            int[] all = new int[lengths.length];
            Arrays.setAll(all, i -> i);
            float[][] together = decode(cache, rope, tables, lengths, all, rows, heads * headDim);
            List<Integer> differing = new ArrayList<>();
            for (int s = 0; s < lengths.length; s++) {
                float[][] alone = decode(cache, rope, tables, lengths, new int[]{s}, new float[][]{rows[s]},
                        heads * headDim);
                if (!Arrays.equals(alone[0], together[s])) {
                    differing.add(lengths[s]);
                }
            }
            double largest = 0;
            for (float[] row : together) {
                for (float v : row) {
                    largest = Float.isFinite(v) ? Math.max(largest, Math.abs(v)) : Double.NaN;
                }
            }
            boolean ok = differing.isEmpty() && largest > 0;  // and not vacuously: real, finite outputs
            record(new Check(label, ok ? 0 : 1, largest, 0, ok, differing.isEmpty() ? "" : "contexts that differ: "
                    + differing));
        }
    }

    /**
     * One decode step over a quantized cache by the latency kernel, then by the batched one: they read the same
     * stored keys and values (RoPE and the cache write are not fused here, so both see the bytes
     * tinyrt_rope_store_kv wrote) and differ only in the order of their fp32 sums, so each output may differ by the
     * rounding of one fp16 result: at most 2^-10 of the largest output. Tolerance 2e-3 (two fp16 ulps), 10x
     * tighter than against the CPU, whose RoPE may put a key on the other side of a quantization step.
     */
    private void kernelsAgree(int heads, int kvHeads, int headDim, int splitKeys, KvCacheDtype kv) {
        String label = "batched attention h=" + heads + "/" + kvHeads + " d=" + headDim + kvSuffix(kv) + " split "
                + splitKeys + " = latency kernel on the same cache";
        RopeTable rope = new RopeTable(headDim, 1024, 10000.0);
        int[][] tables = shuffledTables(DECODE_LENGTHS.length, DECODE_BLOCKS_PER_SEQUENCE, heads * 23L + headDim);
        float[][] rows = values(DECODE_LENGTHS.length, (heads + 2 * kvHeads) * headDim, 1.0, 0);
        int[] all = new int[DECODE_LENGTHS.length];
        Arrays.setAll(all, i -> i);
        gpu.fuseRope(false);
        try (KvCache cache = prefilled(heads, kvHeads, headDim, kv, rope, tables)) {
            gpu.batchAttention(0, splitKeys);
            float[][] latency = decode(cache, rope, tables, DECODE_LENGTHS, all, rows, heads * headDim);
            long before = gpu.batchedAttentionLaunches();
            gpu.batchAttention(1, splitKeys);
            float[][] batched = decode(cache, rope, tables, DECODE_LENGTHS, all, rows, heads * headDim);
            if (gpu.batchedAttentionLaunches() == before) {
                record(new Check(label, 1, 0, 0, false, "the batched kernel did not run"));
            } else {
                compare(label, latency, batched, 2e-3);
            }
        } finally {
            gpu.fuseRope(true);
        }
    }

    /** One decode step of sequences {@code which} (at positions lengths[s]) with qkv rows {@code rows}; its output. */
    private float[][] decode(KvCache cache, RopeTable rope, int[][] tables, int[] lengths, int[] which, float[][] rows,
                             int outCols) {
        List<StepBatch.Chunk> chunks = new ArrayList<>();
        int[] pos = new int[which.length];
        for (int r = 0; r < which.length; r++) {
            int s = which[r];
            pos[r] = lengths[s];
            chunks.add(new StepBatch.Chunk(r, 1, lengths[s] + 1, tables[s]));
        }
        StepBatch batch = new StepBatch(new int[which.length], pos, chunks, new int[0]);
        Tensor qkv = tensor(rows, false).gpu();
        Tensor out = gpu.tensor(which.length, outCols);
        gpu.ropeAndStoreKv(qkv, cache, 0, batch, rope);
        gpu.attention(qkv, cache, 0, batch, out);
        return gpu.toHost(out);
    }

    /** Block tables over shuffled physical blocks, so no sequence's blocks are contiguous. */
    private static int[][] shuffledTables(int sequences, int blocksPerSequence, long seed) {
        List<Integer> shuffled = new ArrayList<>();
        for (int i = 0; i < sequences * blocksPerSequence; i++) {
            shuffled.add(i);
        }
        java.util.Collections.shuffle(shuffled, new java.util.Random(seed));
        int[][] tables = new int[sequences][blocksPerSequence];
        for (int s = 0; s < sequences; s++) {
            for (int b = 0; b < blocksPerSequence; b++) {
                tables[s][b] = shuffled.get(s * blocksPerSequence + b);
            }
        }
        return tables;
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
        int[][] tables = shuffledTables(sequences, scenario.blocksPerSequence(), heads * 31L + headDim);
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
        // ties a thread sees itself: inside one float4, and one batch of its loads later (the kernel reads 4 floats
        // at a time, 8 loads of 1,024 threads in flight)
        logits[3][6] = 70f;
        logits[3][5] = 70f;
        logits[3][5 + 4 * 1024] = 70f;
        Both<Tensor> t = tensor(logits, true);
        int[] g = gpu.argmaxRows(t.gpu());
        int[] c = cpu.argmaxRows(t.cpu());
        boolean ok = Arrays.equals(g, c) && g[1] == 7 && g[2] == 31999 && g[3] == 5;
        record(new Check("argmax rows (ties -> first index)", ok ? 0 : 1, 0, 0, ok,
                "gpu " + Arrays.toString(g) + " cpu " + Arrays.toString(c)));
        float[][] odd = values(2, 1001, 3.0, 1);  // not a multiple of 4: the scalar scan
        odd[1][999] = 40f;
        odd[1][1000] = 40f;
        Both<Tensor> o = tensor(odd, true);
        int[] go = gpu.argmaxRows(o.gpu());
        int[] co = cpu.argmaxRows(o.cpu());
        boolean okOdd = Arrays.equals(go, co) && go[1] == 999;
        record(new Check("argmax rows, 1001 columns", okOdd ? 0 : 1, 0, 0, okOdd,
                "gpu " + Arrays.toString(go) + " cpu " + Arrays.toString(co)));
    }

    /**
     * GPU sampling (sampling.cuh) against the CPU sampler: greedy and top-k 1 are the argmax, top-p keeps exactly
     * the CPU's nucleus, the tokens do not depend on the block size, and GPU and CPU frequencies over many seeds
     * agree (two-sample chi-square).
     */
    private void sampling() {
        float[][] logits = values(4, 32000, 3.0, 0);
        logits[1][7] = 50f;
        logits[1][9] = 50f;
        SamplingRow[] greedy = new SamplingRow[4];
        SamplingRow[] topOne = new SamplingRow[4];
        for (int r = 0; r < 4; r++) {
            greedy[r] = new SamplingRow(0f, 0, 1f, 1f, new int[0], r, 0, 0);
            topOne[r] = new SamplingRow(0.8f, 1, 0.9f, 1f, new int[0], r, 0, 0);
        }
        int[] cpuIds = cpu.argmaxRows(tensor(logits, true).cpu());
        int[] g = gpu.sampleRows(tensor(logits, true).gpu(), greedy).ids();
        int[] k1 = gpu.sampleRows(tensor(logits, true).gpu(), topOne).ids();
        boolean same = Arrays.equals(g, cpuIds) && Arrays.equals(k1, cpuIds) && g[1] == 7;
        record(new Check("sampling: greedy and top-k 1 = argmax (32000 tokens)", same ? 0 : 1, 0, 0, same,
                "greedy " + Arrays.toString(g) + " top-k 1 " + Arrays.toString(k1) + " cpu " + Arrays.toString(cpuIds)));

        // probabilities 0.4, 0.25, 0.2, 0.1, 0.05 on ids 7, 2, 9, 0, 4: top-p 0.8 keeps {2, 7, 9}
        float[] nucleus = new float[10];
        Arrays.fill(nucleus, -20f);
        int[] ids = {7, 2, 9, 0, 4};
        double[] p = {0.4, 0.25, 0.2, 0.1, 0.05};
        for (int i = 0; i < ids.length; i++) {
            nucleus[ids[i]] = (float) Math.log(p[i]);
        }
        long[] seen = gpuCounts(nucleus, 1f, 0, 0.8f, 2000);
        boolean exact = seen[2] > 0 && seen[7] > 0 && seen[9] > 0 && seen[2] + seen[7] + seen[9] == 2000;
        record(new Check("sampling: top-p 0.8 keeps exactly the nucleus {2, 7, 9}", exact ? 0 : 1, 0, 0, exact,
                Arrays.toString(seen)));

        float[][] wide = values(64, 32000, 2.0, 0);
        SamplingRow[] rows = new SamplingRow[wide.length];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = new SamplingRow(0.9f, r % 2 == 0 ? 50 : 0, r % 3 == 0 ? 1f : 0.9f, 1f, new int[0], 100 + r, r, 0);
        }
        int[] at1024 = gpu.sampleRows(tensor(wide, true).gpu(), rows).ids();
        gpu.samplingThreads(128);
        int[] at128 = gpu.sampleRows(tensor(wide, true).gpu(), rows).ids();
        gpu.samplingThreads(DeviceSampler.DEFAULT_THREADS);
        boolean independent = Arrays.equals(at1024, at128);
        record(new Check("sampling: tokens independent of the block size (64 rows x 32000)", independent ? 0 : 1, 0, 0,
                independent, independent ? "" : Arrays.toString(at1024) + " vs " + Arrays.toString(at128)));

        float[] x = values(1, 48, 1.5, 0)[0];
        float[][] settings = {{1f, 0, 1f}, {0.7f, 12, 1f}, {0.9f, 20, 0.9f}};
        for (float[] st : settings) {
            int n = 10000;
            long[] gpuSeen = gpuCounts(x, st[0], (int) st[1], st[2], n);
            long[] cpuSeen = new long[x.length];
            for (int seed = 0; seed < n; seed++) {
                SamplingParams sp = new SamplingParams(st[0], (int) st[1], st[2], 1f, (long) seed, 1, List.of(), false, 0);
                cpuSeen[new Sampler(sp).next(x, new int[0], 0)]++;
            }
            double chi = 0;
            int df = -1;
            for (int i = 0; i < x.length; i++) {
                if (gpuSeen[i] + cpuSeen[i] > 0) {
                    chi += Math.pow(gpuSeen[i] - cpuSeen[i], 2) / (gpuSeen[i] + cpuSeen[i]);
                    df++;
                }
            }
            double bound = df + 6 * Math.sqrt(2.0 * Math.max(df, 1)) + 10;
            record(new Check(String.format("sampling: GPU vs CPU frequencies, t %.1f top-k %d top-p %.1f", st[0],
                    (int) st[1], st[2]), chi, bound, 1, chi < bound, String.format("chi-square %.1f, df %d", chi, df)));
        }

        SamplingRow[] batch = new SamplingRow[64];
        for (int r = 0; r < batch.length; r++) {
            batch[r] = new SamplingRow(0.8f, 40, 0.95f, 1.1f, new int[]{1, 2, 3, 500}, r, 0, 0);
        }
        Tensor t = tensor(wide, true).gpu();
        for (int rowsTimed : new int[]{1, 64}) {
            Tensor view = t.rows(rowsTimed);
            SamplingRow[] part = Arrays.copyOf(batch, rowsTimed);
            gpu.sampleRows(view, part);
            long start = System.nanoTime();
            for (int i = 0; i < 20; i++) {
                gpu.sampleRows(view, part);
            }
            double us = (System.nanoTime() - start) / 20e3;
            record(new Check("sampling: " + rowsTimed + " x 32000 (top-k 40, top-p 0.95, penalty)", 0, 0, 0, true,
                    String.format("%.1f us per call, host round trip included", us)));
        }
    }

    /** GPU draws from one row with seeds 0..n-1 (64 threads per block, which gives the same tokens as 1024). */
    private long[] gpuCounts(float[] x, float t, int k, float p, int n) {
        float[][] v = new float[n][];
        SamplingRow[] rows = new SamplingRow[n];
        for (int i = 0; i < n; i++) {
            v[i] = x;
            rows[i] = new SamplingRow(t, k, p, 1f, new int[0], i, 0, 0);
        }
        gpu.samplingThreads(64);
        int[] ids = gpu.sampleRows(tensor(v, true).gpu(), rows).ids();
        gpu.samplingThreads(DeviceSampler.DEFAULT_THREADS);
        long[] counts = new long[x.length];
        for (int id : ids) {
            counts[id]++;
        }
        return counts;
    }

    // ---- whole models -------------------------------------------------------------------------------------

    private static final LlamaConfig GQA = new LlamaConfig(512, 256, 640, 3, 8, 2, 32, 512, 1e-5f, 10000.0, true,
            "float16", 1, List.of(2));
    private static final LlamaConfig MHA = new LlamaConfig(384, 256, 512, 2, 4, 4, 64, 512, 1e-6f, 500000.0, false,
            "bfloat16", 1, List.of(2));

    private void models(Path scratch) {
        compareEngines("model GQA 8/2 d32 tied fp16", GQA, randomModel(GQA, DType.F16, scratch.resolve("gqa")), true);
        compareEngines("model MHA 4 d64 untied bf16", MHA, randomModel(MHA, DType.BF16, scratch.resolve("mha")), true);
    }

    /** TensorRT-LLM checkpoints of the random models, W8A16 and W4A16: CUDA against the CPU engine. */
    private void quantizedModels(Path scratch) {
        Path gqa = randomModel(GQA, DType.F16, scratch.resolve("gqa"));
        Path mha = randomModel(MHA, DType.BF16, scratch.resolve("mha"));
        for (String algo : new String[]{"W8A16", "W4A16"}) {
            String yaml = "quantization:\n  algorithm: " + algo + "\n"
                    + (algo.equals("W4A16") ? "  group_size: 128\n" : "");
            String suffix = algo + (algo.equals("W4A16") ? " g128" : "");
            Path dir = scratch.resolve("gqa-" + algo);
            convert(gqa, yaml, dir);
            compareEngines("model GQA 8/2 d32 tied " + suffix, GQA, dir, true);
            // head_dim 64: the decode-layer kernel's (layer.cuh) quantized variants; it takes fp16 KV only, and the
            // int8 / fp8 caches of quantized weights are checked on the GQA models above
            Path mhaDir = scratch.resolve("mha-" + algo);
            convert(mha, yaml, mhaDir);
            compareEngines("model MHA 4 d64 untied " + suffix, MHA, mhaDir, false);
        }
    }

    private static void convert(Path hf, String yaml, Path out) {
        try {
            Path file = Files.createTempFile("tinyrt-selftest-", ".yaml");
            Files.writeString(file, yaml);
            dev.tinyrt.checkpoint.TrtllmConverter.convert(hf, dev.tinyrt.checkpoint.BuildConfigLoader.load(file), null,
                    out);
            Files.delete(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The random HF checkpoint of {@code config} in {@code dir} (seed 7), written unless an earlier group did. */
    private static Path randomModel(LlamaConfig config, DType dtype, Path dir) {
        if (!Files.exists(dir.resolve("config.json"))) {
            RandomCheckpoint.write(config, new RandomCheckpoint.Options(7, dtype, 0.15, 0.2, LlamaConfig.Spelling.HF4,
                    null), dir);
        }
        return dir;
    }

    /**
     * The model in {@code dir} on the CPU and on CUDA: logits, greedy tokens, graphs vs eager, fusions, PDL, and with
     * {@code quantizedKv} the same with int8 and fp8 KV caches.
     */
    private void compareEngines(String name, LlamaConfig config, Path dir, boolean quantizedKv) {
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
            b.useLayerKernel(true);  // the decode-layer kernel where it fits (head_dim 64); five launches below
            LlamaModel model = m.model();
            compare(name + ": prompt logits vs CPU fp32", cpuLogits, model.promptLogits(prompt), 2e-2);
            b.useGraphs(false);
            GreedyDecode.Result eager = GreedyDecode.run(model, prompt, 16);
            b.useGraphs(true);
            GreedyDecode.Result graphed = GreedyDecode.run(model, prompt, 16);
            GreedyDecode.Result replayed = GreedyDecode.run(model, prompt, 16);
            greedyAgainstCpu(name, cpuGreedy.tokens(), eager.tokens(), cpuContinuationLogits);
            // each step queued before the host reads the previous token, which the device copies into the step
            int[] overlapped = GreedyDecode.run(model, prompt, 16, true).tokens();
            int[] generated = m.generator().generate(prompt, SamplingParams.greedy(16).withIgnoreEos(true),
                    TokenListener.NONE).outputIds();
            boolean overlapSame = Arrays.equals(overlapped, replayed.tokens())
                    && Arrays.equals(generated, replayed.tokens());
            record(new Check(name + ": greedy with the next step queued before the token is read (loop, Generator)"
                    + " = step by step", overlapSame ? 0 : 1, 0, 0, overlapSame, overlapSame ? ""
                    : "step by step " + Arrays.toString(replayed.tokens()) + " overlapped "
                    + Arrays.toString(overlapped) + " Generator " + Arrays.toString(generated)));
            long layerLaunches = b.layerKernelLaunches();
            // five kernels per layer: the same GEMV bits, but the standalone attention splits the keys over other
            // threads than the layer kernel's stage, so the two are each held to the CPU
            b.useLayerKernel(false);
            int[] separate = GreedyDecode.run(model, prompt, 16).tokens();
            // the fused GEMVs streaming their weights through shared memory (staged.cuh): a few steps (eager, then
            // recorded, then replayed) are enough here, their kernels are checked bit for bit in fused_boundaries
            b.useStagedGemv(true);
            long stagedBefore = b.stagedGemvLaunches();
            int[] staged = GreedyDecode.run(model, prompt, 4).tokens();
            long stagedLaunches = b.stagedGemvLaunches() - stagedBefore;
            b.useStagedGemv(false);
            greedyAgainstCpu(name + " (staged GEMVs)", Arrays.copyOf(cpuGreedy.tokens(), staged.length), staged,
                    cpuContinuationLogits);
            record(new Check(name + ": the fused GEMVs ran as staged kernels", stagedLaunches > 0 ? 0 : 1, 0, 0,
                    stagedLaunches > 0, stagedLaunches + " launches"));
            b.fuseNorms(false);
            int[] normsUnfused = GreedyDecode.run(model, prompt, 16).tokens();
            b.fuseNorms(true);
            b.useLayerKernel(true);
            greedyAgainstCpu(name + " (five kernels per layer, no decode-layer kernel)", cpuGreedy.tokens(), separate,
                    cpuContinuationLogits);
            if (config.headDim() == KernelNames.LAYER_HEAD_DIM) {
                boolean used = layerLaunches > 0;
                record(new Check(name + ": decode layers ran as one decode-layer kernel each", used ? 0 : 1, 0, 0,
                        used, layerLaunches + " launches, " + b.layerKernelReport()));
            }
            boolean normsSame = Arrays.equals(normsUnfused, separate);
            record(new Check(name + ": greedy with add+norm fused into the GEMVs = not fused", normsSame ? 0 : 1, 0, 0,
                    normsSame, normsSame ? "" : "fused " + Arrays.toString(separate) + " not fused "
                    + Arrays.toString(normsUnfused)));
            b.fuseRope(false);
            b.useGraphs(false);
            int[] unfused = GreedyDecode.run(model, prompt, 16).tokens();
            b.useGraphs(true);
            b.fuseRope(true);
            // not bit-identical by design: the fused kernel keeps the rotated q in fp32, the separate RoPE kernel
            // stores it as fp16; so the unfused path is held to the CPU like the fused one (near-ties may flip)
            greedyAgainstCpu(name + " (RoPE not fused)", cpuGreedy.tokens(), unfused, cpuContinuationLogits);
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
        if (quantizedKv) {
            for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
                quantizedKvModel(name, dir, kv, prompt, cpuLogits);
            }
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
            boolean fp8 = format.dtype() == KvCacheDtype.FP8;
            // CPU (fp32 activations) and CUDA (fp16) quantize slightly different K/V values: elements near a
            // rounding boundary land one step apart, so the bound scales with the quantization's own effect
            double quantization = relativeDifference(cpuFp32, cpuLogits);
            record(new Check(label + ": CPU logits vs its fp32 KV (the quantization's own effect)",
                    quantization, 1, 0.5, quantization > 0 && quantization < 0.5, "scales " + format));
            compare(label + ": prompt logits vs CPU", cpuLogits, m.model().promptLogits(prompt),
                    Math.max(3e-2, 2 * quantization));
            b.useGraphs(false);
            GreedyDecode.Result eager = GreedyDecode.run(m.model(), prompt, 16);
            b.useGraphs(true);
            GreedyDecode.Result graphed = GreedyDecode.run(m.model(), prompt, 16);
            // a first divergence counts as a near-tie within the same bound the logits are held to
            greedyAgainstCpu(label, cpuGreedy.tokens(), eager.tokens(), cpuContinuationLogits,
                    Math.max(fp8 ? QUANTIZED_KV_NEAR_TIE_FP8 : QUANTIZED_KV_NEAR_TIE_INT8, 2 * quantization));
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
        greedyAgainstCpu(name, cpu, cuda, cpuLogits, NEAR_TIE);
    }

    /** As above with a wider near-tie band, for quantized KV caches (see quantizedKvModel). */
    private void greedyAgainstCpu(String name, int[] cpu, int[] cuda, float[][] cpuLogits, double nearTieBand) {
        int at = 0;
        while (at < cpu.length && cpu[at] == cuda[at]) {
            at++;
        }
        if (at == cpu.length) {
            record(new Check(name + ": greedy " + cpu.length + " tokens, CUDA vs CPU", 0, 0, 0, true, "identical"));
            return;
        }
        float[] l = cpuLogits[at];
        double max = 0;
        for (float v : l) {
            max = Math.max(max, Math.abs(v));
        }
        double gap = (l[cpu[at]] - l[cuda[at]]) / max;
        boolean nearTie = gap <= nearTieBand;
        record(new Check(name + ": greedy " + cpu.length + " tokens, CUDA vs CPU", gap, 1, nearTieBand, nearTie,
                String.format("first difference at token %d, where the CPU's logits for its choice and CUDA's"
                        + " differ by %.2e of max|logit| (%s); cpu %s cuda %s", at, gap,
                        nearTie ? "a near-tie fp16 may flip" : "NOT a tie", Arrays.toString(cpu),
                        Arrays.toString(cuda))));
    }

    private static final double NEAR_TIE = 1e-2;
    /**
     * Least near-tie bands with quantized KV caches: one int8 / e4m3 step apart on CPU and GPU moves logits this
     * much; the band widens to twice the quantization's own effect on the model, the bound its logits are held to.
     */
    private static final double QUANTIZED_KV_NEAR_TIE_INT8 = 2e-2;
    private static final double QUANTIZED_KV_NEAR_TIE_FP8 = 3e-2;

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
