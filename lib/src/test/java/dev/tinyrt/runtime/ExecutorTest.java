package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.TestCheckpoints;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batching executor on a small random model: correctness against single-request generation, and load. */
class ExecutorTest {
    @TempDir
    static Path tmp;
    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.open(TestCheckpoints.write(TestCheckpoints.gqa(), DType.F16, 8, tmp.resolve("m")),
                LoadedModel.Options.defaults());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static Executor executor(ExecutorConfig config) {
        return new Executor(model.model(), null, model.eosIds(), config);
    }

    static int[] prompt(Random r, int length) {
        int[] ids = new int[length];
        ids[0] = 1;
        for (int i = 1; i < length; i++) {
            ids[i] = 3 + r.nextInt(model.config().vocabSize() - 3);
        }
        return ids;
    }

    static SamplingParams greedy(int n) {
        return SamplingParams.greedy(n).withIgnoreEos(true).withLogprobs(2);
    }

    static GenerationResult alone(int[] prompt, SamplingParams p) {
        return model.generator().generate(prompt, p, TokenListener.NONE);
    }

    static void assertSameOutput(GenerationResult expected, GenerationResult actual) {
        assertArrayEquals(expected.outputIds(), actual.outputIds());
        assertEquals(expected.logprobs().size(), actual.logprobs().size());
        for (int i = 0; i < expected.logprobs().size(); i++) {
            assertArrayEquals(expected.logprobs().get(i), actual.logprobs().get(i), "logprobs of token " + i);
        }
    }

    /** Batch invariance: a request's output is bit-identical alone or batched with others of different lengths. */
    @Test
    void batchedOutputsEqualSingleRequestOutputsExactly() {
        Random r = new Random(1);
        List<int[]> prompts = new ArrayList<>();
        for (int len : new int[]{1, 5, 33, 64, 17, 90}) {
            prompts.add(prompt(r, len));
        }
        try (Executor ex = executor(ExecutorConfig.defaults(4096).withTokensPerBlock(8))) {
            List<GenerationResult> batched = ex.generate(prompts, greedy(12));
            for (int i = 0; i < prompts.size(); i++) {
                assertSameOutput(alone(prompts.get(i), greedy(12)), batched.get(i));
            }
            assertEquals(ex.blockManager().totalBlocks(), ex.blockManager().freeBlocks());
        }
    }

    /** Long prompts split into chunks that fit max_num_tokens give the same result as one prefill. */
    @Test
    void chunkedPrefillChangesNothing() {
        Random r = new Random(2);
        List<int[]> prompts = List.of(prompt(r, 100), prompt(r, 77), prompt(r, 3));
        try (Executor ex = executor(ExecutorConfig.defaults(4096).withMaxNumTokens(16).withTokensPerBlock(16))) {
            List<StepStats> stats = new CopyOnWriteArrayList<>();
            ex.onStep(stats::add);
            List<GenerationResult> out = ex.generate(prompts, greedy(6));
            for (int i = 0; i < prompts.size(); i++) {
                assertSameOutput(alone(prompts.get(i), greedy(6)), out.get(i));
            }
            assertTrue(stats.stream().allMatch(s -> s.prefillTokens() + s.decodeTokens() <= 16));
            assertTrue(stats.size() >= 180 / 16, "prompts must have been split into chunks");
        }
    }

    /** Shared prefixes are computed once: hits are counted, outputs do not change, and prefill work shrinks. */
    @Test
    void prefixReuseSharesBlocksWithoutChangingOutputs() {
        Random r = new Random(3);
        int[] system = prompt(r, 64);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] p = java.util.Arrays.copyOf(system, 64 + 5 + i);
            for (int j = 64; j < p.length; j++) {
                p[j] = 3 + r.nextInt(200);
            }
            prompts.add(p);
        }
        ExecutorConfig cfg = ExecutorConfig.defaults(4096).withTokensPerBlock(16).withMaxBatchSize(1);
        AtomicInteger prefillWith = new AtomicInteger();
        AtomicInteger prefillWithout = new AtomicInteger();
        List<GenerationResult> with;
        try (Executor ex = executor(cfg)) {
            ex.onStep(s -> prefillWith.addAndGet(s.prefillTokens()));
            with = ex.generate(prompts, greedy(4));
            assertEquals(4L * 5, ex.blockManager().prefixHits(), "the 4 system-prompt blocks of 5 later requests");
        }
        try (Executor ex = executor(cfg.withPrefixCaching(false))) {
            ex.onStep(s -> prefillWithout.addAndGet(s.prefillTokens()));
            List<GenerationResult> without = ex.generate(prompts, greedy(4));
            for (int i = 0; i < prompts.size(); i++) {
                assertSameOutput(without.get(i), with.get(i));
            }
            assertEquals(0, ex.blockManager().prefixHits());
        }
        assertEquals(prefillWithout.get() - 5 * 64, prefillWith.get());
    }

    /** With a cache too small for everyone at once, requests wait (no-evict) or are preempted and recomputed. */
    @Test
    void smallCacheMakesRequestsWaitOrPreemptButAllFinishCorrectly() {
        Random r = new Random(4);
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            prompts.add(prompt(r, 10 + r.nextInt(30)));
        }
        for (ExecutorConfig.Policy policy : ExecutorConfig.Policy.values()) {
            try (Executor ex = executor(ExecutorConfig.defaults(8 * 16).withTokensPerBlock(8).withPolicy(policy))) {
                List<StepStats> stats = new CopyOnWriteArrayList<>();
                ex.onStep(stats::add);
                List<GenerationResult> out = ex.generate(prompts, greedy(20));
                for (int i = 0; i < prompts.size(); i++) {
                    assertSameOutput(alone(prompts.get(i), greedy(20)), out.get(i));
                }
                assertTrue(stats.stream().anyMatch(s -> s.waiting() > 0), policy + ": some requests had to wait");
                assertEquals(ex.blockManager().totalBlocks(), ex.blockManager().freeBlocks(), policy.name());
            }
        }
    }

    @Test
    void tenThousandRequestsAllCompleteCorrectlyAndNoBlockLeaks() throws Exception {
        Random r = new Random(5);
        List<int[]> distinct = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            distinct.add(prompt(r, 1 + r.nextInt(24)));
            lengths.add(1 + r.nextInt(6));
        }
        Map<Integer, GenerationResult> expected = new HashMap<>();
        for (int i = 0; i < 40; i++) {
            expected.put(i, alone(distinct.get(i), SamplingParams.greedy(lengths.get(i)).withIgnoreEos(true)));
        }
        try (Executor ex = executor(ExecutorConfig.defaults(16 * 1024).withTokensPerBlock(8).withMaxBatchSize(128))) {
            List<RequestHandle> handles = new ArrayList<>();
            List<Integer> which = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                int k = r.nextInt(distinct.size());
                which.add(k);
                handles.add(ex.submit(new Request(distinct.get(k),
                        SamplingParams.greedy(lengths.get(k)).withIgnoreEos(true))));
            }
            Map<Integer, int[]> seen = new HashMap<>();
            for (int i = 0; i < handles.size(); i++) {
                GenerationResult g = handles.get(i).result().get(120, TimeUnit.SECONDS);
                int k = which.get(i);
                assertEquals(lengths.get(k), g.outputIds().length);
                int[] first = seen.putIfAbsent(k, g.outputIds());
                if (first != null) {
                    assertArrayEquals(first, g.outputIds(), "every copy of a prompt gives the same output");
                }
                if (expected.containsKey(k)) {
                    assertArrayEquals(expected.get(k).outputIds(), g.outputIds());
                }
            }
            assertEquals(ex.blockManager().totalBlocks(), ex.blockManager().freeBlocks(), "pool back to full");
        }
    }

    @Test
    void badRequestsFailAloneWhileOthersProceed() {
        try (Executor ex = executor(ExecutorConfig.defaults(4096).withMaxInputLen(50))) {
            RequestHandle tooLongForModel = ex.submit(new Request(new int[200], greedy(2)));
            RequestHandle tooLongForBuild = ex.submit(new Request(new int[60], greedy(2)));
            RequestHandle empty = ex.submit(new Request(new int[0], greedy(2)));
            RequestHandle fine = ex.submit(new Request(new int[]{1, 2, 3}, greedy(3)));
            assertEquals(3, fine.result().join().outputIds().length);
            for (RequestHandle h : List.of(tooLongForModel, tooLongForBuild, empty)) {
                CompletionException e = assertThrows(CompletionException.class, () -> h.result().join());
                assertInstanceOf(TinyrtException.class, e.getCause());
            }
            assertTrue(tooLongForModel.result().exceptionNow().getMessage().contains("max_position_embeddings"));
            assertTrue(tooLongForBuild.result().exceptionNow().getMessage().contains("max_input_len"));
        }
    }

    @Test
    void cancellingMidStreamFreesBlocksAtOnce() throws Exception {
        try (Executor ex = executor(ExecutorConfig.defaults(4096).withTokensPerBlock(8))) {
            CountDownLatch three = new CountDownLatch(3);
            // the engine may stream tokens before submit() returns the handle: the callback waits for it
            CompletableFuture<RequestHandle> self = new CompletableFuture<>();
            AtomicInteger seen = new AtomicInteger();
            self.complete(ex.submit(new Request(prompt(new Random(6), 20), greedy(100), (id, text) -> {
                if (seen.incrementAndGet() == 3) {
                    self.join().cancel();
                }
                three.countDown();
            })));
            GenerationResult r = self.join().result().get(30, TimeUnit.SECONDS);
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertTrue(r.outputIds().length >= 3 && r.outputIds().length < 100);
            assertEquals(ex.blockManager().totalBlocks(), ex.blockManager().freeBlocks());
        }
    }

    @Test
    void aThrowingConsumerFailsOnlyItsOwnRequest() {
        try (Executor ex = executor(ExecutorConfig.defaults(4096))) {
            RequestHandle bad = ex.submit(new Request(new int[]{1, 5, 6}, greedy(10), (id, text) -> {
                throw new IllegalStateException("consumer bug");
            }));
            RequestHandle good = ex.submit(new Request(new int[]{1, 7, 8}, greedy(10)));
            assertEquals(10, good.result().join().outputIds().length);
            CompletionException e = assertThrows(CompletionException.class, () -> bad.result().join());
            assertTrue(e.getCause().getMessage().contains("consumer bug"));
            assertEquals(ex.blockManager().totalBlocks(), ex.blockManager().freeBlocks());
        }
    }

    @Test
    void tokensStreamThroughAFlowPublisher() throws Exception {
        try (Executor ex = executor(ExecutorConfig.defaults(4096))) {
            List<Integer> streamed = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            // subscribe before the engine can produce anything: submit from inside a paused listener-free request
            RequestHandle h = ex.submit(new Request(prompt(new Random(7), 40), greedy(30)));
            h.tokens().subscribe(new Flow.Subscriber<>() {
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                public void onNext(TokenEvent item) {
                    streamed.add(item.tokenId());
                }

                public void onError(Throwable t) {
                    done.countDown();
                }

                public void onComplete() {
                    done.countDown();
                }
            });
            int[] all = h.result().get(30, TimeUnit.SECONDS).outputIds();
            assertTrue(done.await(10, TimeUnit.SECONDS));
            // a late subscriber sees the tail of the stream, in order
            assertTrue(streamed.size() <= all.length);
            int offset = all.length - streamed.size();
            for (int i = 0; i < streamed.size(); i++) {
                assertEquals(all[offset + i], streamed.get(i));
            }
        }
    }
}
