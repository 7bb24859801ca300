package dev.tinyrt.memory;

import dev.tinyrt.runtime.StepStats;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StepTimeModelTest {
    static RunResult run(List<StepStats> stats) {
        List<RunResult.Step> steps = new ArrayList<>();
        long at = 0;
        for (StepStats s : stats) {
            at += s.nanos();
            steps.add(new RunResult.Step(at, s));
        }
        return new RunResult("w", AllocationMode.paged(16), 1, 1, 1, steps, Measured.of(0, ""), at, 1, 0, 0, 0);
    }

    @Test
    void recoversKnownCoefficients() {
        Random r = new Random(4);
        List<StepStats> stats = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int prefill = r.nextInt(3) == 0 ? r.nextInt(500) : 0;
            int decode = r.nextInt(64);
            long used = r.nextInt(20000);
            long nanos = 1000 + 50L * prefill + 200L * decode + 3 * used;
            stats.add(new StepStats(i, nanos, decode, prefill, decode, 0, 1, 1, 0, used, 16));
        }
        StepTimeModel m = StepTimeModel.fit(run(stats));
        assertEquals(1000, m.fixedNanos(), 1);
        assertEquals(50, m.perPrefillToken(), 1e-3);
        assertEquals(200, m.perDecodeToken(), 1e-3);
        assertEquals(3, m.perContextToken(), 1e-4);
        assertEquals(1, m.rSquared(), 1e-9);
        assertEquals(1, m.overhead(), 1e-9);
        RunResult retimed = m.retime(run(stats));
        assertEquals(run(stats).wallNanos(), retimed.wallNanos(), 200);
    }

    /** A run without prefill (all prompts cached) leaves that coefficient at 0 instead of failing. */
    @Test
    void aFeatureThatNeverVariesGetsNoWeight() {
        List<StepStats> stats = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int decode = 1 + i % 7;
            stats.add(new StepStats(i, 500 + 100L * decode, decode, 0, decode, 0, 1, 1, 0, 10L * i, 16));
        }
        StepTimeModel m = StepTimeModel.fit(run(stats));
        assertEquals(0, m.perPrefillToken(), 1e-6);
        assertEquals(100, m.perDecodeToken(), 1e-3);
        assertEquals(500, m.fixedNanos(), 1e-2);
    }
}
