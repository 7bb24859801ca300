package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.FeedingBackend;
import dev.tinyrt.model.HfWeightLayout;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.TestCheckpoints;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generation over a random model without tokenizer: ids in, ids out. */
class GeneratorTest {
    @TempDir
    static Path tmp;
    static LoadedModel model;
    static final int[] PROMPT = {1, 17, 42, 99, 5};

    @BeforeAll
    static void load() {
        LlamaConfig c = TestCheckpoints.gqa();
        model = LoadedModel.open(TestCheckpoints.write(c, DType.F16, 3, tmp.resolve("m")), LoadedModel.Options.defaults());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Greedy with the KV cache equals re-running the whole sequence and taking the argmax each time. */
    @Test
    void greedyMatchesRecomputingFromScratch() {
        GenerationResult r = model.generator().generate(PROMPT, SamplingParams.greedy(12).withIgnoreEos(true),
                TokenListener.NONE);
        int[] seq = PROMPT.clone();
        for (int i = 0; i < 12; i++) {
            float[][] logits = model.model().promptLogits(seq);
            int next = Sampler.argmax(logits[seq.length - 1]);
            assertEquals(next, r.outputIds()[i], "token " + i);
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
        }
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertTrue(r.ttftMs() > 0 && r.tokensPerS() > 0);
    }

    @Test
    void streamsEveryTokenInOrder() {
        List<Integer> streamed = new ArrayList<>();
        GenerationResult r = model.generator().generate(PROMPT, SamplingParams.greedy(9).withIgnoreEos(true),
                (id, text) -> streamed.add(id));
        assertArrayEquals(r.outputIds(), streamed.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void stopsAtEndOfSequenceAndKeepsTheEosId() {
        GenerationResult free = model.generator().generate(PROMPT, SamplingParams.greedy(6).withIgnoreEos(true),
                TokenListener.NONE);
        int eos = free.outputIds()[3];  // pretend the 4th greedy token ends the sequence
        var generator = new Generator(model.model(), null, List.of(eos));
        GenerationResult r = generator.generate(PROMPT, SamplingParams.greedy(6), TokenListener.NONE);
        int firstEos = 0;
        while (free.outputIds()[firstEos] != eos) {
            firstEos++;
        }
        assertEquals(FinishReason.EOS, r.finishReason());
        assertArrayEquals(Arrays.copyOf(free.outputIds(), firstEos + 1), r.outputIds());
    }

    @Test
    void seededSamplingRepeatsAndDiffersAcrossSeeds() {
        SamplingParams p = SamplingParams.greedy(16).withIgnoreEos(true).withTemperature(1.5f).withSeed(5L);
        int[] a = model.generator().generate(PROMPT, p, TokenListener.NONE).outputIds();
        int[] b = model.generator().generate(PROMPT, p, TokenListener.NONE).outputIds();
        int[] c = model.generator().generate(PROMPT, p.withSeed(6L), TokenListener.NONE).outputIds();
        assertArrayEquals(a, b);
        assertNotEquals(Arrays.toString(a), Arrays.toString(c));
    }

    @Test
    void stopsWhenTheContextIsFull() {
        int max = model.config().maxPositionEmbeddings();
        int[] prompt = new int[max - 3];
        Arrays.fill(prompt, 7);
        GenerationResult r = model.generator().generate(prompt, SamplingParams.greedy(50).withIgnoreEos(true),
                TokenListener.NONE);
        assertEquals(FinishReason.CONTEXT_FULL, r.finishReason());
        assertEquals(3, r.outputIds().length);
    }

    @Test
    void logprobsAreReturnedPerToken() {
        GenerationResult r = model.generator().generate(PROMPT,
                SamplingParams.greedy(4).withIgnoreEos(true).withLogprobs(5), TokenListener.NONE);
        assertEquals(4, r.logprobs().size());
        for (int i = 0; i < 4; i++) {
            assertEquals(5, r.logprobs().get(i).length);
            assertEquals(r.outputIds()[i], r.logprobs().get(i)[0].id(), "greedy picks the most likely token");
        }
    }

    /**
     * The overlapped greedy loop (each step queued before the previous token is read, as on the GPU) over a backend
     * that feeds tokens: the same tokens, streamed, and finish reasons as the step-by-step loop; at an EOS one step
     * more has run and been discarded.
     */
    @Test
    void overlappedGreedyDecodingMatchesStepByStep() {
        LlamaConfig c = model.config();
        try (TensorSource source = Checkpoints.open(tmp.resolve("m")); FeedingBackend feeding = new FeedingBackend();
             LlamaModel fed = LlamaModel.load(c, new HfWeightLayout(source, c), feeding, StoragePrecision.AUTO)) {
            SamplingParams twelve = SamplingParams.greedy(12).withIgnoreEos(true);
            GenerationResult plain = model.generator().generate(PROMPT, twelve, TokenListener.NONE);
            List<Integer> streamed = new ArrayList<>();
            GenerationResult overlapped = new Generator(fed, null, List.of()).generate(PROMPT, twelve,
                    (id, text) -> streamed.add(id));
            assertArrayEquals(plain.outputIds(), overlapped.outputIds());
            assertArrayEquals(plain.outputIds(), streamed.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(FinishReason.LENGTH, overlapped.finishReason());
            assertEquals(12, feeding.steps, "prefill + 11 decode steps: none queued past the last token");
            assertEquals(11, feeding.fedSteps, "every decode step took its token on the device");

            int eos = plain.outputIds()[3];
            int firstEos = 0;
            while (plain.outputIds()[firstEos] != eos) {
                firstEos++;
            }
            feeding.steps = 0;
            GenerationResult stopped = new Generator(fed, null, List.of(eos)).generate(PROMPT,
                    SamplingParams.greedy(12), TokenListener.NONE);
            assertEquals(FinishReason.EOS, stopped.finishReason());
            assertArrayEquals(Arrays.copyOf(plain.outputIds(), firstEos + 1), stopped.outputIds());
            assertEquals(firstEos + 2, feeding.steps, "the step queued after the EOS ran and was discarded");

            int[] nearlyFull = new int[c.maxPositionEmbeddings() - 3];
            Arrays.fill(nearlyFull, 7);
            GenerationResult full = new Generator(fed, null, List.of()).generate(nearlyFull,
                    SamplingParams.greedy(50).withIgnoreEos(true), TokenListener.NONE);
            assertEquals(FinishReason.CONTEXT_FULL, full.finishReason());
            assertArrayEquals(model.generator().generate(nearlyFull, SamplingParams.greedy(50).withIgnoreEos(true),
                    TokenListener.NONE).outputIds(), full.outputIds());

            feeding.fedSteps = 0;
            new Generator(fed, null, List.of()).generate(PROMPT, twelve.withLogprobs(2), TokenListener.NONE);
            assertEquals(0, feeding.fedSteps, "log-probabilities need the logits: the step-by-step loop");
        }
    }

    @Test
    void badPromptsAreUserErrors() {
        Generator g = model.generator();
        TinyrtException empty = assertThrows(TinyrtException.class,
                () -> g.generate(new int[0], SamplingParams.greedy(1), TokenListener.NONE));
        assertTrue(empty.getMessage().contains("empty prompt"));
        int[] tooLong = new int[model.config().maxPositionEmbeddings() + 1];
        TinyrtException longer = assertThrows(TinyrtException.class,
                () -> g.generate(tooLong, SamplingParams.greedy(1), TokenListener.NONE));
        assertTrue(longer.getMessage().contains("max_position_embeddings"));
        assertThrows(TinyrtException.class,
                () -> g.generate(new int[]{1, 100000}, SamplingParams.greedy(1), TokenListener.NONE));
        assertThrows(TinyrtException.class, () -> g.generate(PROMPT,
                SamplingParams.greedy(1).withStopStrings(List.of("x")), TokenListener.NONE));
    }
}
