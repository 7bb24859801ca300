package dev.tinyrt.model;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.TensorSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The step hook a GPU backend records CUDA graphs through: every device op of a forward pass runs inside one
 * {@link Backend#runStep} call whose buffer key stays the same across decode steps (so a recording can be replayed)
 * and changes when the model's buffers are reallocated; greedy forwards agree with the logits.
 */
class LlamaModelStepTest {
    /** The CPU backend, with every op checked to run inside runStep and every runStep key logged. */
    private static final class Recording extends DelegatingBackend {
        final List<Object> keys = new ArrayList<>();
        int opsOutsideSteps;
        boolean inStep;

        @Override
        protected void op() {
            if (!inStep) {
                opsOutsideSteps++;
            }
        }

        @Override
        public void runStep(StepBatch batch, KvCache cache, Object buffers, Runnable work) {
            keys.add(buffers);
            inStep = true;
            try {
                work.run();
            } finally {
                inStep = false;
            }
        }

        @Override
        public String name() {
            return "recording";
        }
    }

    @TempDir
    Path tmp;
    private Recording backend;
    private TensorSource source;
    private LlamaModel model;
    private LlamaConfig config;

    @BeforeEach
    void load() {
        config = TestCheckpoints.gqa();
        source = Checkpoints.open(TestCheckpoints.write(config, DType.F16, 3, tmp.resolve("m")));
        backend = new Recording();
        model = LlamaModel.load(config, new HfWeightLayout(source, config), backend, StoragePrecision.AUTO);
    }

    @AfterEach
    void close() {
        model.close();
        source.close();
        backend.close();
    }

    private static StepBatch step(int[] tokens, int start, int[] table, int[] logitRows) {
        int[] positions = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            positions[i] = start + i;
        }
        return new StepBatch(tokens, positions,
                List.of(new StepBatch.Chunk(0, tokens.length, start + tokens.length, table)), logitRows);
    }

    @Test
    void everyOpRunsInsideOneStepWithAKeyThatIsStableAcrossDecodeSteps() {
        int[] table = {0, 1};
        try (KvCache cache = backend.kvCache(config, 2, 32)) {
            model.forward(step(new int[]{5, 6, 7}, 0, table, new int[]{2}), cache);
            model.forward(step(new int[]{8}, 3, table, new int[]{0}), cache);
            model.forward(step(new int[]{9}, 4, table, new int[]{0}), cache);
            assertEquals(3, backend.keys.size(), "one runStep per forward");
            assertEquals(0, backend.opsOutsideSteps);
            assertEquals(backend.keys.get(1), backend.keys.get(2), "decode steps reuse the same buffers");
            assertEquals(backend.keys.get(0), backend.keys.get(1), "buffers sized by the prompt serve decode too");
            model.forward(step(new int[]{1, 2, 3, 4, 5, 6, 7, 8}, 5, table, new int[]{0, 7}), cache);
            assertNotEquals(backend.keys.get(2), backend.keys.get(3), "a larger step reallocates: a new key");
        }
    }

    @Test
    void greedyForwardIsTheArgmaxOfTheLogits() {
        int[] table = {0, 1};
        try (KvCache a = backend.kvCache(config, 2, 32); KvCache b = backend.kvCache(config, 2, 32)) {
            StepBatch prompt = step(new int[]{5, 60, 7, 200, 11}, 0, table, new int[]{1, 4});
            float[][] logits = model.forward(prompt, a);
            int[] greedy = model.forwardGreedy(prompt, b);
            assertArrayEquals(new int[]{argmax(logits[0]), argmax(logits[1])}, greedy);
            StepBatch next = step(new int[]{greedy[1]}, 5, table, new int[]{0});
            assertEquals(argmax(model.forward(next, a)[0]), model.forwardGreedy(next, b)[0]);
        }
    }

    /** Steps queued with their tokens fed from the previous greedy pick: the same tokens as step by step. */
    @Test
    void submittedGreedyStepsFedOnTheDeviceMatchStepByStep() {
        int[] table = {0, 1};
        try (FeedingBackend feeding = new FeedingBackend();
             LlamaModel fed = LlamaModel.load(config, new HfWeightLayout(source, config), feeding,
                     StoragePrecision.AUTO);
             KvCache a = backend.kvCache(config, 2, 32); KvCache b = feeding.kvCache(config, 2, 32)) {
            int[] prompt = {5, 60, 7, 200, 11};
            int token = model.forwardGreedy(step(prompt, 0, table, new int[]{4}), a)[0];
            Backend.PendingIds pending = fed.submitGreedy(step(prompt, 0, table, new int[]{4}), b, false);
            for (int i = 0; i < 6; i++) {
                // placeholder token 0: the step must embed the fed one
                Backend.PendingIds next = fed.submitGreedy(step(new int[]{0}, prompt.length + i, table, new int[]{0}),
                        b, true);
                assertEquals(token, pending.await()[0], "token " + i);
                token = model.forwardGreedy(step(new int[]{token}, prompt.length + i, table, new int[]{0}), a)[0];
                pending = next;
            }
            assertEquals(token, pending.await()[0]);
            assertEquals(6, feeding.fedSteps);
            IllegalStateException wrongCount = assertThrows(IllegalStateException.class,
                    () -> fed.submitGreedy(step(new int[]{0, 0}, 20, table, new int[]{1}), b, true));
            assertTrue(wrongCount.getMessage().contains("2 greedy ids"), wrongCount.getMessage());
        }
    }

    @Test
    void aBackendThatCannotFeedRefusesFedSteps() {
        try (KvCache cache = backend.kvCache(config, 1, 32)) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> model.submitGreedy(step(new int[]{5}, 0, new int[]{0}, new int[]{0}), cache, true));
            assertTrue(e.getMessage().contains("recording"), e.getMessage());
        }
    }

    @Test
    void anObservedForwardIsNotRecorded() {
        List<ActivationObserver.Linear> seen = new ArrayList<>();
        model.observe((layer, linear, rows) -> seen.add(linear));
        try (KvCache cache = backend.kvCache(config, 1, 32)) {
            model.forward(step(new int[]{5, 6}, 0, new int[]{0}, new int[]{1}), cache);
        }
        assertEquals(0, backend.keys.size());
        assertEquals(4 * config.numLayers() + 1, seen.size());
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
