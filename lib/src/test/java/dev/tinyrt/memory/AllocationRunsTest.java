package dev.tinyrt.memory;

import dev.tinyrt.engine.LoadedModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Standard and paged allocation served for real on a small random model (128-token context). */
class AllocationRunsTest {
    static final int MAX_SEQ_LEN = 128;
    @TempDir
    static Path tmp;
    static LoadedModel model;
    static WorkloadRunner runner;
    static long bpt;
    static RunLimits limits = RunLimits.of(64, MAX_SEQ_LEN);
    static Workload mix;

    @BeforeAll
    static void load() {
        model = LoadedModel.open(MemoryTestModels.write(MemoryTestModels.small(), tmp.resolve("m")),
                new LoadedModel.Options("cpu", dev.tinyrt.model.StoragePrecision.AUTO, 1));
        runner = new WorkloadRunner(model.model(), model.eosIds(), null);
        bpt = model.model().kvBytesPerToken();
        mix = Workloads.lognormal(Workloads.Lognormal.SHAREGPT.scaledTo(MAX_SEQ_LEN).scaled(2), 40, 3, MAX_SEQ_LEN,
                model.config().vocabSize());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Room for exactly three sequences of max_seq_len. */
    static long budget() {
        return 3L * MAX_SEQ_LEN * bpt + bpt * 50;
    }

    @Test
    void standardIsPreallocationToMaxSeqLen() {
        RunResult r = runner.run(mix, AllocationMode.standard(MAX_SEQ_LEN), limits, budget(), bpt);
        assertEquals(3, r.numBlocks());
        assertEquals(3, r.maxConcurrent());
        assertEquals(3L * MAX_SEQ_LEN * bpt, r.peakAllocatedBytes());
        for (RunResult.Step s : r.steps()) {
            assertTrue(s.stats().blocksUsed() <= s.stats().sequences(), "one block per sequence: " + s);
        }
        assertTrue(r.stepsWithOneBlockPerSequence() > r.steps().size() / 2);
        assertEquals(0, r.recomputedPromptTokens());
        assertEquals(mix.outputTokens(), r.outputTokens());
        assertTrue(r.utilization() < 0.5, "short requests leave most of a max_seq_len block empty");
    }

    @Test
    void pagedRunsMoreSequencesInTheSameBudget() {
        RunResult standard = runner.run(mix, AllocationMode.standard(MAX_SEQ_LEN), limits, budget(), bpt);
        RunResult paged = runner.run(mix, AllocationMode.paged(16), limits, budget(), bpt);
        assertTrue(paged.poolTokens() >= standard.poolTokens());
        assertTrue(paged.maxConcurrent() >= 2 * standard.maxConcurrent(),
                paged.maxConcurrent() + " vs " + standard.maxConcurrent());
        assertTrue(paged.utilization() > 1.5 * standard.utilization(), paged.utilization() + " vs "
                + standard.utilization());
        assertTrue(paged.steps().size() < standard.steps().size());
        assertEquals(mix.outputTokens(), paged.outputTokens());
    }

    /** The whole workload is queued before the first step: runs repeat exactly, and the proxy takes the same steps. */
    @Test
    void runsRepeatExactlyAndTheProxySchedulesTheSame() {
        AllocationMode mode = AllocationMode.paged(16);
        RunResult a = runner.run(mix, mode, limits, budget(), bpt);
        RunResult b = runner.run(mix, mode, limits, budget(), bpt);
        assertTrue(MemoryAnalysis.sameSchedule(a, b));
        try (ProxyScheduler proxy = new ProxyScheduler(model.config().maxPositionEmbeddings())) {
            RunResult sim = proxy.simulate(mix, mode, limits, budget(), bpt);
            assertTrue(MemoryAnalysis.sameSchedule(a, sim), a.steps().size() + " vs " + sim.steps().size());
            RunResult simStandard = proxy.simulate(mix, AllocationMode.standard(MAX_SEQ_LEN), limits, budget(), bpt);
            RunResult standard = runner.run(mix, AllocationMode.standard(MAX_SEQ_LEN), limits, budget(), bpt);
            assertTrue(MemoryAnalysis.sameSchedule(standard, simStandard));
        }
    }

    @Test
    void prefixCachingSharesTheSystemPromptBlocks() {
        Workload w = Workloads.withSystemPrompt(mix, 32, 4, MAX_SEQ_LEN, model.config().vocabSize());
        RunResult off = runner.run(w, AllocationMode.paged(16), limits, budget(), bpt);
        RunResult on = runner.run(w, AllocationMode.paged(16).withPrefixCaching(true), limits, budget(), bpt);
        assertEquals(0, off.prefixHitBlocks());
        // both system blocks of every request, and again for requests preempted and readmitted
        assertTrue(on.prefixHitBlocks() >= 2L * w.requests().size(), on.prefixHitBlocks() + " hits");
        assertTrue(on.peakSharedBlocks() >= 2);
        assertTrue(on.allocatedBytesPerSequence() < off.allocatedBytesPerSequence());
        assertTrue(on.utilization() > 1, "shared tokens count once per sequence");
    }

    /** The pool the executor allocates is what the formula says, in the heap's own accounting (G1 regions). */
    @Test
    void poolAllocationIsMeasured() {
        long big = 6L << 20;  // keys and values of 2 layers: four arrays of 1.5 MiB
        WorkloadRunner measured = new WorkloadRunner(model.model(), model.eosIds(),
                new MemoryProbe(List.of(), null));
        RunResult r = measured.run(Workloads.fixed(8, 4, 3, 1, 1024), AllocationMode.paged(16), limits, big, bpt);
        long tokens = r.poolTokens();
        long footprint = HeapFootprint.of(MemoryFormulas.kvArraysPerLayer(model.config(), tokens, KvDtype.FP32),
                HeapFootprint.regionBytes());
        assertEquals(tokens * bpt, r.poolComputedBytes());
        // the executor's own objects (block table, queues, thread) come on top: under 1 MiB
        assertTrue(r.poolMeasured().bytes() >= footprint && r.poolMeasured().bytes() < footprint + (1 << 20),
                r.poolMeasured() + " vs footprint " + footprint);
    }

    @Test
    void plannerPredictsTheScheduleOfARunAtAnotherBudget() {
        AllocationMode mode = AllocationMode.paged(16);
        RunResult calibration = runner.run(mix, mode, limits, budget(), bpt);
        StepTimeModel steps = StepTimeModel.fit(calibration);
        long other = 2 * budget();
        RunResult measured = runner.run(mix, mode, limits, other, bpt);
        try (ProxyScheduler proxy = new ProxyScheduler(MAX_SEQ_LEN)) {
            var answer = new CapacityPlanner(proxy, steps, limits).answer(new CapacityPlanner.Question("2x", 1000 + other,
                    1000, bpt, mix, mode));
            assertEquals(other, answer.question().kvBudget());
            assertTrue(MemoryAnalysis.sameSchedule(answer.predicted(), measured));
            assertEquals(measured.maxConcurrent(), answer.predicted().maxConcurrent());
            double ratio = answer.predictedOutputTokensPerSecond() / measured.outputTokensPerSecond();
            assertTrue(ratio > 0.5 && ratio < 2, "throughput within a factor of 2 on a loaded machine: " + ratio);
        }
    }
}
