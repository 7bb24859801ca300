package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.Request;
import dev.tinyrt.runtime.RequestHandle;
import dev.tinyrt.runtime.SamplingParams;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Makes a run deterministic. A fresh executor starts stepping as soon as the first request arrives, so which
 * requests the first steps see would depend on thread timing. The gate first submits a one-token warm-up request
 * whose token callback holds the engine thread inside step 1; the workload is queued meanwhile; {@link #open()}
 * lets the engine go, and step 2 onwards schedules the whole workload exactly as its token counts dictate. Step 1
 * (the warm-up, alone) is not recorded. A warm-up prompt that is the workload's shared system prompt leaves that
 * prompt's full blocks in the prefix cache, as a system prompt served before would.
 */
final class StartGate {
    private final CountDownLatch engineHeld = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final RequestHandle warmup;
    private volatile long t0;

    StartGate(Executor executor, int[] warmupPrompt, Consumer<RunResult.Step> steps) {
        executor.onStep(s -> {
            if (s.step() > 1) {
                steps.accept(new RunResult.Step(System.nanoTime() - t0, s));
            }
        });
        warmup = executor.submit(new Request(warmupPrompt, SamplingParams.greedy(1).withIgnoreEos(true),
                (token, text) -> {
                    engineHeld.countDown();
                    awaitQuietly(release);
                }));
        try {
            while (!engineHeld.await(100, TimeUnit.MILLISECONDS)) {
                if (warmup.result().isDone()) {
                    throw new TinyrtException("the executor did not run the warm-up request: "
                            + warmup.result().handle((r, e) -> e == null ? "it finished early" : e.getMessage()).join());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TinyrtException("interrupted while starting a run");
        }
    }

    /** Releases the engine; returns the moment the run starts (steps are timed from it). */
    long open() {
        t0 = System.nanoTime();
        release.countDown();
        return t0;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
