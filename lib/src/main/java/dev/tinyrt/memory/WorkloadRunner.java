package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.Request;
import dev.tinyrt.runtime.RequestHandle;
import dev.tinyrt.runtime.SamplingParams;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Serves a {@link Workload} through the batching executor with one {@link AllocationMode} and records what the KV
 * pool did at every step. The whole workload is queued before the first step ({@link StartGate}), so a run's
 * schedule depends only on token counts and repeats exactly. The pool is measured as it is allocated (executor start-up), so each run also checks
 * the engine's allocation against the computed size.
 */
public final class WorkloadRunner {
    private final LlamaModel model;
    private final List<Integer> eosIds;
    private final MemoryProbe probe;

    /** {@code probe} may be {@code null}: the pool is then not measured (fast runs, e.g. the planner's). */
    public WorkloadRunner(LlamaModel model, List<Integer> eosIds, MemoryProbe probe) {
        this.model = model;
        this.eosIds = eosIds;
        this.probe = probe;
    }

    public RunResult run(Workload workload, AllocationMode mode, RunLimits limits, long budgetBytes,
                         long bytesPerToken) {
        ExecutorConfig config = mode.executorConfig(limits, budgetBytes, bytesPerToken);
        int longest = workload.longest();
        if (longest > limits.maxSeqLen()) {
            throw new TinyrtException("workload " + workload.name() + " has a request of " + longest
                    + " tokens, more than max_seq_len " + limits.maxSeqLen());
        }
        if (probe != null) {
            model.backend().releaseIdleMemory();  // the pool must be allocated afresh to be measured
        }
        MemorySnapshot before = probe == null ? null : probe.snapshot();
        List<RunResult.Step> steps = new CopyOnWriteArrayList<>();
        Measured pool;
        long wall;
        long output = 0;
        long prefixHits;
        try (Executor executor = new Executor(model, null, eosIds, config)) {
            pool = probe == null ? Measured.of(0, "not measured") : Measured.between(before, probe.snapshot());
            StartGate gate = new StartGate(executor, warmupPrompt(workload), steps::add);
            List<RequestHandle> handles = new ArrayList<>();
            for (Workload.Request r : workload.requests()) {
                SamplingParams p = SamplingParams.greedy(r.outputTokens()).withIgnoreEos(true);
                handles.add(executor.submit(new Request(r.promptIds(), p)));
            }
            long start = gate.open();
            for (RequestHandle h : handles) {
                output += outcome(h).outputIds().length;
            }
            wall = System.nanoTime() - start;
            prefixHits = executor.blockManager().prefixHits();
        }
        // closing joined the engine thread, so the last step's statistics (reported after its requests
        // completed) are in
        return new RunResult(workload.name(), mode, budgetBytes, bytesPerToken, config.numBlocks(), steps, pool,
                wall, workload.requests().size(), workload.inputTokens(), output, prefixHits);
    }

    /** The prompt all requests share (a system prompt), else just BOS. */
    static int[] warmupPrompt(Workload w) {
        int[] first = w.requests().getFirst().promptIds();
        int common = first.length;
        for (Workload.Request r : w.requests()) {
            common = Math.min(common, java.util.Arrays.mismatch(first, r.promptIds()) < 0 ? common
                    : java.util.Arrays.mismatch(first, r.promptIds()));
        }
        return java.util.Arrays.copyOf(first, Math.max(1, Math.min(common, first.length - 1)));
    }

    private static GenerationResult outcome(RequestHandle h) {
        try {
            return h.result().join();
        } catch (CompletionException e) {
            throw new TinyrtException("a request of the memory workload failed: " + e.getCause().getMessage(),
                    e.getCause());
        }
    }
}
