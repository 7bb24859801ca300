package dev.tinyrt.backend.cuda;

import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.Request;
import dev.tinyrt.runtime.RequestHandle;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.StepStats;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs in a child JVM against the fake driver: the executor on the CUDA backend with max batch 512 and 1024 (more
 * than the 256 measured so far). Every request must finish with exactly its token count, steps must really reach
 * the max batch, and the KV pool must be whole again afterwards. Kernels compute nothing here, so with
 * {@code measure} as argument it instead prints the executor's wall time per decode step at batch 256 and 512:
 * host work only (scheduling, step plan and upload, sampling readback, callbacks).
 */
public final class LargeBatchScenario {
    private static final List<String> failures = new ArrayList<>();
    /** A small model: the fake's own work per step (argument checks, the argmax it runs for sampling) stays small. */
    private static final LlamaConfig MODEL = new LlamaConfig(512, 128, 352, 2, 4, 2, 32, 512, 1e-5f, 10000.0,
            false, "float16", 1, List.of(2));

    public static void main(String... args) throws Exception {
        Path dir = Files.createTempDirectory("tinyrt-large-batch").resolve("model");
        RandomCheckpoint.write(MODEL, new RandomCheckpoint.Options(1, DType.F16, 0.02, 0, LlamaConfig.Spelling.HF4,
                null), dir);
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            if (args.length > 0 && args[0].equals("measure")) {
                int steps = args.length > 1 ? Integer.parseInt(args[1]) : 100;
                for (int batch : new int[]{256, 512, 256, 512, 256, 512, 256, 512}) {  // the first rounds: JIT warm-up
                    measure(m, batch, steps);
                }
                return;
            }
            if (args.length > 0 && args[0].equals("workload")) {
                for (int batch : new int[]{256, 512, 256, 512}) {
                    workload(m, batch, 1000, 128, 128, args.length > 1 ? Integer.parseInt(args[1]) : 8192);
                }
                return;
            }
            check(m.backend() instanceof CudaBackend, "cuda backend");
            manyRequests(m, 512, 600);
            manyRequests(m, 1024, 1100);
        }
        System.out.println(failures.isEmpty() ? "LARGE BATCH SCENARIO PASSED" : "LARGE BATCH SCENARIO FAILED: "
                + failures);
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    /** {@code count} short requests of varied lengths through an executor of max batch {@code maxBatch}. */
    private static void manyRequests(LoadedModel m, int maxBatch, int count) {
        ExecutorConfig config = new ExecutorConfig(maxBatch, 16384, 64, maxBatch * 64, 16, true,
                ExecutorConfig.Policy.GUARANTEED_NO_EVICT);
        AtomicInteger largest = new AtomicInteger();
        List<RequestHandle> handles = new ArrayList<>();
        int[] expected = new int[count];
        Executor e = m.executor(config);
        try {
            e.onStep(s -> largest.accumulateAndGet(s.sequences(), Math::max));
            for (int i = 0; i < count; i++) {
                int[] prompt = new int[4 + i % 21];
                for (int j = 0; j < prompt.length; j++) {
                    prompt[j] = 3 + (i * 31 + j * 7) % (MODEL.vocabSize() - 3);
                }
                expected[i] = 1 + i % 12;
                handles.add(e.submit(new Request(prompt, SamplingParams.greedy(expected[i]).withIgnoreEos(true))));
            }
            int finished = 0;
            for (int i = 0; i < count; i++) {
                GenerationResult r = handles.get(i).result().join();
                finished += r.outputIds().length == expected[i] ? 1 : 0;
            }
            check(finished == count, "max batch " + maxBatch + ": " + finished + " of " + count
                    + " requests produced their token count");
        } catch (RuntimeException ex) {
            ex.printStackTrace(System.out);
            failures.add("max batch " + maxBatch + ": " + ex);
        } finally {
            e.close();  // joins the engine thread: its block accounting is visible here
        }
        // requests arrive while the engine already steps and the shortest finish early, so the peak need not hit
        // maxBatch exactly; above half of it proves steps beyond the previous size ran, never above it the limit
        check(largest.get() > maxBatch / 2 && largest.get() <= maxBatch, "max batch " + maxBatch
                + ": the largest step had " + largest.get() + " sequences");
        var blocks = e.blockManager();
        check(blocks.freeBlocks() == blocks.totalBlocks(), "max batch " + maxBatch + ": the KV pool is whole again ("
                + blocks.freeBlocks() + " of " + blocks.totalBlocks() + " blocks free)");
    }

    /**
     * Prints, over steps that decode {@code batch} sequences and prefill nothing, the engine thread's CPU time and
     * the wall time from the end of the previous step to the end of this one (the whole loop iteration). CPU time
     * is the robust number on a shared machine; wall time includes waiting for a core.
     */
    private static void measure(LoadedModel m, int batch, int steps) {
        int prompt = 128;
        int out = steps + 20;
        ExecutorConfig config = new ExecutorConfig(batch, 8192, prompt, batch * (prompt + out + 32), 32, true,
                ExecutorConfig.Policy.GUARANTEED_NO_EVICT);
        StepClock clock = new StepClock(batch, out + 10);
        try (Executor e = m.executor(config)) {
            e.onStep(clock::record);
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                int[] ids = new int[prompt];
                for (int j = 0; j < prompt; j++) {
                    ids[j] = 3 + (i * 131 + j * 17) % (MODEL.vocabSize() - 3);
                }
                handles.add(e.submit(new Request(ids, SamplingParams.greedy(out).withIgnoreEos(true))));
            }
            handles.forEach(h -> h.result().join());
        }
        System.out.printf("HOST-COST batch %d: %d decode steps, engine CPU median %.1f us (p10 %.1f, p90 %.1f), "
                + "wall median %.1f us (p90 %.1f)%n", batch, Math.min(clock.n - 5, steps),
                clock.quantile(clock.cpu, steps, 0.5), clock.quantile(clock.cpu, steps, 0.1),
                clock.quantile(clock.cpu, steps, 0.9), clock.quantile(clock.wall, steps, 0.5),
                clock.quantile(clock.wall, steps, 0.9));
    }

    /**
     * The benchmark's shape of run (as ExecutorRun: a new request as soon as one finishes, up to {@code batch} in
     * flight): how many steps are decode-only (a recorded graph replays) and how many mix in prompt chunks, and the
     * engine thread's CPU time for each kind.
     */
    private static void workload(LoadedModel m, int batch, int count, int prompt, int out, int maxNumTokens) {
        CudaBackend b = (CudaBackend) m.backend();
        ExecutorConfig config = new ExecutorConfig(batch, maxNumTokens, prompt, batch * (prompt + out), 32, true,
                ExecutorConfig.Policy.GUARANTEED_NO_EVICT);
        long[] kinds = new long[4];  // decode-only steps, their CPU ns, steps with prompt tokens, their CPU ns
        long replaysBefore = b.graphReplays();
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long[] last = new long[1];
        try (Executor e = m.executor(config)) {
            e.onStep(st -> {
                long c = threads.getCurrentThreadCpuTime();
                int k = st.prefillTokens() == 0 ? 0 : 2;
                kinds[k]++;
                kinds[k + 1] += last[0] == 0 ? 0 : c - last[0];
                last[0] = c;
            });
            java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(batch);
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int[] ids = new int[prompt];
                for (int j = 0; j < prompt; j++) {
                    ids[j] = 3 + (i * 131 + j * 17) % (MODEL.vocabSize() - 3);
                }
                slots.acquireUninterruptibly();
                RequestHandle h = e.submit(new Request(ids, SamplingParams.greedy(out).withIgnoreEos(true)));
                h.result().whenComplete((r, x) -> slots.release());
                handles.add(h);
            }
            handles.forEach(h -> h.result().join());
        }
        System.out.printf("WORKLOAD batch %d, %d requests %d/%d, max_num_tokens %d: %d decode-only steps (%.0f us CPU"
                + " each), %d steps with prompt tokens (%.0f us CPU each), %d graph replays%n", batch, count, prompt,
                out, maxNumTokens, kinds[0], kinds[1] / 1e3 / Math.max(1, kinds[0]), kinds[2],
                kinds[3] / 1e3 / Math.max(1, kinds[2]), b.graphReplays() - replaysBefore);
    }

    /** Per-step CPU and wall time of the engine thread, taken in its step listener. */
    private static final class StepClock {
        final int batch;
        final long[] cpu;
        final long[] wall;
        final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        int n;
        long lastCpu;
        long lastWall;

        StepClock(int batch, int capacity) {
            this.batch = batch;
            this.cpu = new long[capacity];
            this.wall = new long[capacity];
        }

        void record(StepStats s) {
            long c = threads.getCurrentThreadCpuTime();
            long w = System.nanoTime();
            if (s.prefillTokens() == 0 && s.sequences() == batch && lastWall != 0 && n < cpu.length) {
                cpu[n] = c - lastCpu;
                wall[n++] = w - lastWall;
            }
            lastCpu = c;
            lastWall = w;
        }

        /** Skips the first 5 steps (graph recording, JIT warm-up). */
        private long[] sorted(long[] values, int steps) {
            long[] v = Arrays.copyOfRange(values, 5, Math.min(n, 5 + steps));
            Arrays.sort(v);
            return v;
        }

        /** In microseconds. */
        double quantile(long[] values, int steps, double q) {
            long[] v = sorted(values, steps);
            return v[(int) (q * (v.length - 1))] / 1e3;
        }
    }

    private static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) {
            failures.add(what);
        }
    }
}
