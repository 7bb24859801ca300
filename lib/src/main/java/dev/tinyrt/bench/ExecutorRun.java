package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.Request;
import dev.tinyrt.runtime.RequestHandle;
import dev.tinyrt.runtime.SamplingParams;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;

/**
 * One run of a list of requests through the executor, timed per token. A request's clock starts just before it
 * is submitted; each token is stamped in the executor's token callback, which runs after the step's logits are
 * on the host — for a GPU backend that copy synchronises the device, so the stamps are synchronised times.
 * Greedy decoding with EOS ignored makes every request produce exactly its {@code output_tokens}.
 */
final class ExecutorRun {
    record Outcome(List<RequestTiming> timings, double[] itlGapsMs) {
    }

    /** Token timestamps of one request, written on the engine thread, read after its future completed. */
    private static final class Track {
        final BenchRequest request;
        final long[] tokenNs;
        int tokens;
        long startNs;

        Track(BenchRequest request) {
            this.request = request;
            this.tokenNs = new long[request.outputTokens()];
        }
    }

    private ExecutorRun() {
    }

    static Outcome run(Executor executor, List<BenchRequest> requests, int concurrency, Batching batching,
                       Runnable onRequestDone) {
        List<Track> tracks = requests.stream().map(Track::new).toList();
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        if (batching == Batching.STATIC) {
            for (int from = 0; from < tracks.size(); from += concurrency) {
                List<CompletableFuture<GenerationResult>> wave = new ArrayList<>();
                for (Track t : tracks.subList(from, Math.min(tracks.size(), from + concurrency))) {
                    wave.add(submit(executor, t, onRequestDone, null));
                }
                awaitAll(wave);
                futures.addAll(wave);
            }
        } else {
            Semaphore slots = new Semaphore(concurrency);
            for (Track t : tracks) {
                slots.acquireUninterruptibly();
                futures.add(submit(executor, t, onRequestDone, slots));
            }
            awaitAll(futures);
        }
        return outcome(tracks);
    }

    private static CompletableFuture<GenerationResult> submit(Executor executor, Track t, Runnable onDone,
                                                              Semaphore slots) {
        SamplingParams params = SamplingParams.greedy(t.request.outputTokens()).withIgnoreEos(true);
        Request request = new Request(t.request.inputIds(), params, (id, text) -> {
            if (t.tokens < t.tokenNs.length) {
                t.tokenNs[t.tokens++] = System.nanoTime();
            }
        });
        t.startNs = System.nanoTime();
        RequestHandle handle = executor.submit(request);
        return handle.result().whenComplete((r, e) -> {
            if (slots != null) {
                slots.release();
            }
            onDone.run();
        });
    }

    private static void awaitAll(List<CompletableFuture<GenerationResult>> futures) {
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new TinyrtException("a benchmark request failed: " + cause.getMessage(), cause);
        }
    }

    private static Outcome outcome(List<Track> tracks) {
        long t0 = tracks.stream().mapToLong(t -> t.startNs).min().orElse(0);
        List<RequestTiming> timings = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        for (Track t : tracks) {
            if (t.tokens == 0) {
                throw new TinyrtException("request " + t.request.taskId() + " produced no token");
            }
            timings.add(new RequestTiming(t.request.taskId(), t.request.inputLength(), t.tokens, ms(t.startNs - t0),
                    ms(t.tokenNs[0] - t0), ms(t.tokenNs[t.tokens - 1] - t0)));
            for (int i = 1; i < t.tokens; i++) {
                gaps.add(ms(t.tokenNs[i] - t.tokenNs[i - 1]));
            }
        }
        return new Outcome(timings, gaps.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
