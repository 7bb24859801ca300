package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.SampledTokens;
import dev.tinyrt.backend.SamplingRow;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.Request;
import dev.tinyrt.runtime.RequestHandle;
import dev.tinyrt.runtime.Sampler;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
import dev.tinyrt.runtime.TokenLogprob;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Runs in a child JVM whose fake driver executes the real sampling kernel on the CPU (emu.h): the GPU sampler must
 * follow the CPU sampler ({@link Sampler}) — greedy and top-k=1 are the argmax (first index on ties), top-k keeps
 * the lowest ids among tied logits, top-p keeps exactly the CPU's nucleus, the repetition penalty and raw-logit
 * log-probabilities agree, empirical frequencies over many seeds match the CPU sampler's probabilities (chi-square),
 * draws are the Philox stream of (seed, step) whatever the block size, and the runtime's sampled generations on the
 * CUDA backend repeat for a seed and do not depend on the other requests in the batch.
 */
public final class SamplingScenario {
    private static final List<String> failures = new ArrayList<>();
    private static CudaBackend gpu;
    private static Arena arena;

    public static void main(String... args) throws Exception {
        try (CudaBackend g = CudaBackend.create(); Arena a = Arena.ofShared()) {
            gpu = g;
            arena = a;
            greedyAndTopOneAreTheArgmax();
            topKKeepsTheLowestIdsAmongTies();
            topPKeepsExactlyTheNucleus();
            repetitionPenaltyAndLogprobs();
            drawsArePhiloxOfSeedAndStep();
            frequenciesMatchTheCpuSampler();
        }
        runtimeOnCuda(Files.createTempDirectory("tinyrt-sampling"));
        System.out.println(failures.isEmpty() ? "SAMPLING SCENARIO PASSED" : "SAMPLING SCENARIO FAILED: " + failures);
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    // ---- kernel checks ----------------------------------------------------------------------------------------

    private static void greedyAndTopOneAreTheArgmax() {
        SplittableRandom random = new SplittableRandom(5);
        float[][] v = new float[6][1000];
        for (float[] row : v) {
            for (int i = 0; i < row.length; i++) {
                row[i] = half(random.nextGaussian() * 3);
            }
        }
        v[1][17] = 40f;
        v[1][600] = 40f;  // a tie: the first index wins
        v[2][999] = 50f;
        v[3][0] = 50f;
        Arrays.fill(v[4], -2f);  // all equal: token 0
        int[] expected = new int[v.length];
        for (int r = 0; r < v.length; r++) {
            expected[r] = Sampler.argmax(v[r]);
        }
        SamplingRow[] greedy = new SamplingRow[v.length];
        SamplingRow[] topOne = new SamplingRow[v.length];
        for (int r = 0; r < v.length; r++) {
            greedy[r] = row(0f, 0, 1f, r);
            topOne[r] = row(0.7f + r, 1, 1f, 1000 + r);
        }
        int[] g = gpu.sampleRows(logits(v), greedy).ids();
        int[] k1 = gpu.sampleRows(logits(v), topOne).ids();
        check(Arrays.equals(expected, g), "greedy = argmax: " + Arrays.toString(g) + " vs " + Arrays.toString(expected));
        check(Arrays.equals(expected, k1), "top-k 1 = argmax: " + Arrays.toString(k1) + " vs "
                + Arrays.toString(expected));
        check(g[1] == 17 && g[4] == 0, "ties go to the first index: " + Arrays.toString(g));
    }

    private static void topKKeepsTheLowestIdsAmongTies() {
        float[] x = {1f, 3f, 2f, 3f, 3f, 0f, 3f, -1f};  // top 3 of the four 3.0s: ids 1, 3, 4
        Observed o = draw(x, 1f, 3, 1f, 1500, 128);
        check(o.support().equals(new TreeSet<>(List.of(1, 3, 4))), "top-k 3 over ties keeps ids 1, 3, 4: "
                + o.support());
        Observed all = draw(x, 1f, 8, 1f, 800, 64);
        check(all.support().containsAll(List.of(0, 1, 2, 3, 4, 6)), "top-k = vocab keeps every likely token: "
                + all.support());
    }

    private static void topPKeepsExactlyTheNucleus() {
        // probabilities 0.4, 0.25, 0.2, 0.1, 0.05 (ids shuffled): top-p 0.8 keeps 0.4 + 0.25 + 0.2 = 0.85
        float[] x = new float[10];
        Arrays.fill(x, (float) Math.log(1e-9));
        int[] ids = {7, 2, 9, 0, 4};
        double[] p = {0.4, 0.25, 0.2, 0.1, 0.05};
        for (int i = 0; i < ids.length; i++) {
            x[ids[i]] = half(Math.log(p[i]));
        }
        float[] rounded = x.clone();
        TreeSet<Integer> expected = nucleus(rounded, 1f, 0, 0.8f);
        check(expected.equals(new TreeSet<>(List.of(7, 2, 9))), "the CPU's nucleus of the crafted row: " + expected);
        check(draw(x, 1f, 0, 0.8f, 1500, 128).support().equals(expected), "top-p 0.8 keeps exactly " + expected);
        TreeSet<Integer> second = nucleus(rounded, 1f, 0, 0.6f);
        check(draw(x, 1f, 0, 0.6f, 800, 64).support().equals(second), "top-p 0.6 keeps exactly " + second);
        check(draw(x, 1f, 0, 0.3f, 300, 32).support().equals(new TreeSet<>(List.of(7))), "top-p 0.3 keeps the top token");
        TreeSet<Integer> both = nucleus(rounded, 1f, 2, 0.95f);
        check(both.equals(new TreeSet<>(List.of(7, 2))) && draw(x, 1f, 2, 0.95f, 800, 64).support().equals(both),
                "top-k 2 then top-p 0.95 keeps " + both);
    }

    private static void repetitionPenaltyAndLogprobs() {
        float[][] v = {{2f, 2f, 0.5f, -1f}, {-1f, -1.5f, -3f, -4f}};
        SamplingRow a = new SamplingRow(0f, 0, 1f, 2f, new int[]{0, 3}, 1, 0, 3);
        SamplingRow b = new SamplingRow(0f, 0, 1f, 2f, new int[]{0}, 1, 0, 2);
        SampledTokens s = gpu.sampleRows(logits(v), new SamplingRow[]{a, b});
        // row 0: 2 / 2 = 1 < 2: token 1; row 1: -1 * 2 = -2 < -1.5: token 1 (CPU sampler: the same)
        int[] cpu = {new Sampler(params(0f, 0, 1f).withRepetitionPenalty(2f)).next(v[0], new int[]{0, 3}, 2),
                new Sampler(params(0f, 0, 1f).withRepetitionPenalty(2f)).next(v[1], new int[]{0}, 1)};
        check(Arrays.equals(s.ids(), cpu) && cpu[0] == 1 && cpu[1] == 1, "repetition penalty: gpu "
                + Arrays.toString(s.ids()) + " cpu " + Arrays.toString(cpu));
        for (int r = 0; r < v.length; r++) {
            TokenLogprob[] expected = TokenLogprob.topK(v[r], r == 0 ? 3 : 2);  // of the raw logits
            boolean same = s.logprobIds()[r].length == expected.length;
            for (int j = 0; same && j < expected.length; j++) {
                same = s.logprobIds()[r][j] == expected[j].id()
                        && Math.abs(s.logprobs()[r][j] - expected[j].logprob()) < 1e-5;
            }
            check(same, "row " + r + " logprobs " + Arrays.toString(s.logprobIds()[r]) + " "
                    + Arrays.toString(s.logprobs()[r]) + " vs " + Arrays.toString(expected));
        }
        float[][] wide = new float[3][50];
        SplittableRandom random = new SplittableRandom(9);
        for (float[] row : wide) {
            for (int i = 0; i < row.length; i++) {
                row[i] = half(random.nextGaussian());
            }
        }
        SampledTokens mixed = gpu.sampleRows(logits(wide), new SamplingRow[]{
                new SamplingRow(0.8f, 5, 0.9f, 1f, new int[0], 3, 0, 50), row(0f, 0, 1f, 4),
                new SamplingRow(1f, 0, 1f, 1f, new int[0], 5, 0, 7)});
        check(mixed.logprobIds()[0].length == 50 && mixed.logprobIds()[1].length == 0
                && mixed.logprobIds()[2].length == 7, "per-row logprob counts");
        TokenLogprob[] all = TokenLogprob.topK(wide[0], 50);
        boolean ordered = true;
        for (int j = 0; j < 50; j++) {
            ordered &= mixed.logprobIds()[0][j] == all[j].id();
        }
        check(ordered, "all 50 logprobs in the CPU's order");
    }

    private static void drawsArePhiloxOfSeedAndStep() {
        // two equal logits weigh 2^40 each: the kernel picks token 0 exactly when its uniform is below one half
        int n = 200;
        float[][] v = new float[n][2];
        SamplingRow[] rows = new SamplingRow[n];
        int[] expected = new int[n];
        for (int i = 0; i < n; i++) {
            long seed = 0x5DEECE66DL * (i + 1);
            long step = i % 7;
            rows[i] = new SamplingRow(1f, 0, 1f, 1f, new int[0], seed, step, 0);
            expected[i] = Philox.uniform(seed, step) < 0.5 ? 0 : 1;
        }
        int[] got = gpu.sampleRows(logits(v), rows).ids();
        check(Arrays.equals(expected, got), "draws = Philox(seed, step): " + mismatches(expected, got));
        float[][] w = new float[40][300];
        SplittableRandom random = new SplittableRandom(3);
        for (float[] row : w) {
            for (int i = 0; i < row.length; i++) {
                row[i] = half(random.nextGaussian() * 2);
            }
        }
        SamplingRow[] r2 = new SamplingRow[w.length];
        for (int i = 0; i < r2.length; i++) {
            r2[i] = new SamplingRow(0.9f, i % 3 == 0 ? 0 : 40, i % 2 == 0 ? 1f : 0.85f, 1f, new int[0], 77 + i, i, 0);
        }
        int[] at1024 = gpu.sampleRows(logits(w), r2).ids();
        gpu.samplingThreads(96);
        int[] at96 = gpu.sampleRows(logits(w), r2).ids();
        gpu.samplingThreads(32);
        int[] at32 = gpu.sampleRows(logits(w), r2).ids();
        gpu.samplingThreads(DeviceSampler.DEFAULT_THREADS);
        check(Arrays.equals(at1024, at96) && Arrays.equals(at1024, at32), "tokens independent of the block size: "
                + Arrays.toString(at1024) + " / " + Arrays.toString(at96) + " / " + Arrays.toString(at32));
        int[] again = gpu.sampleRows(logits(w), r2).ids();
        check(Arrays.equals(at1024, again), "same seeds and steps, same tokens");
    }

    private static void frequenciesMatchTheCpuSampler() {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[48];
        for (int i = 0; i < x.length; i++) {
            x[i] = half(random.nextGaussian() * 1.5);
        }
        float[][] settings = {{1f, 0, 1f}, {0.7f, 12, 1f}, {1.3f, 0, 0.8f}, {0.9f, 20, 0.9f}};
        for (float[] s : settings) {
            float t = s[0];
            int k = (int) s[1];
            float p = s[2];
            double[] exact = probabilities(x, t, k, p);
            int n = 3000;
            long[] cpu = new long[x.length];
            for (int seed = 0; seed < 20000; seed++) {
                cpu[new Sampler(params(t, k, p).withSeed((long) seed)).next(x, new int[0], 0)]++;
            }
            long[] gpuCounts = draw(x, t, k, p, n, 64).counts();
            String label = String.format("t %.1f top-k %d top-p %.2f", t, k, p);
            chiSquare("CPU sampler vs exact, " + label, cpu, exact);
            chiSquare("GPU sampler vs exact, " + label, gpuCounts, exact);
        }
    }

    private static void chiSquare(String label, long[] counts, double[] p) {
        long n = Arrays.stream(counts).sum();
        double chi = 0;
        int df = -1;
        boolean outside = false;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                outside |= counts[i] > 0;
                continue;
            }
            double e = n * p[i];
            chi += (counts[i] - e) * (counts[i] - e) / e;
            df++;
        }
        double bound = df + 6 * Math.sqrt(2.0 * df) + 10;  // far in the tail: p < 1e-5 for these df
        System.out.printf("chi-square %s: %.1f (df %d, bound %.1f)%s%n", label, chi, df, bound,
                outside ? ", draws outside the kept set" : "");
        check(!outside && chi < bound, label + ": chi-square " + chi + " df " + df);
    }

    // ---- runtime on the CUDA backend -----------------------------------------------------------------------

    private static void runtimeOnCuda(Path tmp) {
        LlamaConfig config = new LlamaConfig(300, 64, 128, 2, 4, 2, 16, 256, 1e-5f, 10000.0, false, "float16", 1,
                List.of(2));
        Path dir = tmp.resolve("model");
        RandomCheckpoint.write(config, new RandomCheckpoint.Options(3, DType.F16, 0.5, 0.1, LlamaConfig.Spelling.HF4,
                null), dir);
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            check(m.backend().samplesOnDevice(), "the CUDA backend samples on the device");
            SamplingParams sampled = SamplingParams.greedy(12).withTemperature(0.9f).withTopK(40).withTopP(0.95f)
                    .withSeed(1234L).withIgnoreEos(true).withRepetitionPenalty(1.1f).withLogprobs(2);
            int[] prompt = {1, 17, 42, 99, 7};
            GenerationResult first = m.generator().generate(prompt, sampled, TokenListener.NONE);
            GenerationResult second = m.generator().generate(prompt, sampled, TokenListener.NONE);
            check(Arrays.equals(first.outputIds(), second.outputIds()), "seeded generation repeats: "
                    + Arrays.toString(first.outputIds()) + " / " + Arrays.toString(second.outputIds()));
            check(first.logprobs().size() == 12 && first.logprobs().get(0).length == 2, "logprobs per token");
            GenerationResult other = m.generator().generate(prompt, sampled.withSeed(99L), TokenListener.NONE);
            System.out.println("seed 1234: " + Arrays.toString(first.outputIds()) + ", seed 99: "
                    + Arrays.toString(other.outputIds()));
            int[] greedy = GreedyDecode.run(m.model(), prompt, 8).tokens();
            int[] viaGenerator = m.generator().generate(prompt, SamplingParams.greedy(8).withIgnoreEos(true),
                    TokenListener.NONE).outputIds();
            check(Arrays.equals(greedy, viaGenerator), "greedy through the sampler = argmax loop: "
                    + Arrays.toString(viaGenerator) + " vs " + Arrays.toString(greedy));
            ExecutorConfig ec = ExecutorConfig.defaults(2048).withMaxBatchSize(4);
            int[] alone;
            int[] batched;
            try (Executor e = m.executor(ec)) {
                alone = e.submit(new Request(prompt, sampled)).result().join().outputIds();
            }
            try (Executor e = m.executor(ec)) {
                List<RequestHandle> hs = new ArrayList<>();
                hs.add(e.submit(new Request(new int[]{1, 5, 6, 7, 8, 9, 10}, sampled.withSeed(5L))));
                hs.add(e.submit(new Request(prompt, sampled)));
                hs.add(e.submit(new Request(new int[]{1, 200}, sampled.withSeed(6L).withTopP(1f))));
                batched = hs.get(1).result().join().outputIds();
            }
            check(Arrays.equals(first.outputIds(), alone) && Arrays.equals(alone, batched),
                    "a seeded request gives the same tokens alone, batched, and through the generator: "
                            + Arrays.toString(alone) + " / " + Arrays.toString(batched));
        } catch (RuntimeException e) {
            e.printStackTrace(System.out);
            failures.add("runtime: " + e);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private record Observed(long[] counts) {
        TreeSet<Integer> support() {
            TreeSet<Integer> s = new TreeSet<>();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] > 0) {
                    s.add(i);
                }
            }
            return s;
        }
    }

    /** {@code n} GPU draws from one row (seeds 0..n-1, step 0) with {@code threads} per block. */
    private static Observed draw(float[] x, float t, int k, float p, int n, int threads) {
        float[][] v = new float[n][];
        SamplingRow[] rows = new SamplingRow[n];
        for (int i = 0; i < n; i++) {
            v[i] = x;
            rows[i] = new SamplingRow(t, k, p, 1f, new int[0], i, 0, 0);
        }
        gpu.samplingThreads(threads);
        int[] ids = gpu.sampleRows(logits(v), rows).ids();
        gpu.samplingThreads(DeviceSampler.DEFAULT_THREADS);
        long[] counts = new long[x.length];
        for (int id : ids) {
            counts[id]++;
        }
        return new Observed(counts);
    }

    /** The probability the CPU sampler gives each token: its own steps (sort, top-k, top-p) in exact arithmetic. */
    static double[] probabilities(float[] x, float t, int k, float p) {
        Integer[] order = new Integer[x.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -x[i]));
        int keep = k > 0 ? Math.min(k, x.length) : x.length;
        double max = x[order[0]] / (double) t;
        double[] w = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            w[i] = Math.exp(x[order[i]] / (double) t - max);
            sum += w[i];
        }
        if (p < 1f) {
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cumulative += w[i] / sum;
                if (cumulative >= p) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += w[i];
            }
        }
        double[] out = new double[x.length];
        for (int i = 0; i < keep; i++) {
            out[order[i]] = w[i] / sum;
        }
        return out;
    }

    private static TreeSet<Integer> nucleus(float[] x, float t, int k, float p) {
        double[] probs = probabilities(x, t, k, p);
        TreeSet<Integer> s = new TreeSet<>();
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                s.add(i);
            }
        }
        return s;
    }

    private static SamplingRow row(float t, int k, float p, long seed) {
        return new SamplingRow(t, k, p, 1f, new int[0], seed, 0, 0);
    }

    private static SamplingParams params(float t, int k, float p) {
        return new SamplingParams(t, k, p, 1f, 1L, 1, List.of(), false, 0);
    }

    /** fp16-rounded, as logits pass through the fp16 embedding table that uploads them. */
    private static float half(double v) {
        return Numerics.f16ToFloat(Numerics.floatToF16((float) v));
    }

    /** An fp32 device tensor holding {@code v} (values must be fp16-exact), uploaded through embed. */
    private static Tensor logits(float[][] v) {
        int rows = v.length;
        int cols = v[0].length;
        MemorySegment seg = arena.allocate(2L * rows * cols, 16);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, (long) r * cols + i, Numerics.floatToF16(v[r][i]));
            }
        }
        Weight table = gpu.weight(new WeightData.Dense("logits", DType.F16, rows, cols, seg));
        Tensor t = gpu.wideTensor(rows, cols);
        int[] ids = new int[rows];
        Arrays.setAll(ids, i -> i);
        gpu.embed(table, ids, t);
        return t;
    }

    private static String mismatches(int[] expected, int[] got) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < expected.length && s.length() < 200; i++) {
            if (expected[i] != got[i]) {
                s.append(i).append(": ").append(got[i]).append(" not ").append(expected[i]).append("; ");
            }
        }
        return s.isEmpty() ? "all equal" : s.toString();
    }

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            failures.add(what);
        }
    }
}
