package dev.tinyrt.engine;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.ReferenceLlama;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.TestCheckpoints;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CPU engine against a plain double-precision forward pass, across shapes, dtypes and thread counts. */
class CpuEngineTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("gqa-f16", TestCheckpoints.gqa(), DType.F16, 1),
                Arguments.of("gqa-f32", TestCheckpoints.gqa(), DType.F32, 2),
                Arguments.of("mha-tied-bf16", TestCheckpoints.mhaTied(), DType.BF16, 2),
                Arguments.of("mha-tied-f16-1thread", TestCheckpoints.mhaTied(), DType.F16, 1));
    }

    private static int[] randomIds(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return ids;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void logitsMatchThePlainReference(String name, LlamaConfig config, DType dtype, int threads) {
        Path dir = TestCheckpoints.write(config, dtype, 11, tmp.resolve(name));
        int[] ids = randomIds(45, config.vocabSize(), 3);  // crosses a 32-token block boundary
        double[][] expected;
        try (TensorSource src = Checkpoints.open(dir)) {
            expected = new ReferenceLlama(config, src).logits(ids);
        }
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, threads))) {
            float[][] actual = m.model().promptLogits(ids);
            assertClose(expected, actual, 1e-5);
        }
    }

    @Test
    void storagePrecisionConversionKeepsExactValuesWhenWidening() {
        LlamaConfig config = TestCheckpoints.gqa();
        Path dir = TestCheckpoints.write(config, DType.BF16, 5, tmp.resolve("bf16"));
        int[] ids = randomIds(20, config.vocabSize(), 9);
        float[][] asStored;
        float[][] widened;
        try (LoadedModel m = LoadedModel.open(dir, LoadedModel.Options.defaults())) {
            asStored = m.model().promptLogits(ids);
        }
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.FP32, 0))) {
            widened = m.model().promptLogits(ids);
        }
        for (int t = 0; t < ids.length; t++) {
            assertArrayEquals(asStored[t], widened[t], "bf16 -> fp32 widening is exact, logits must be identical");
        }
    }

    /** Decoding token by token through the paged cache gives the logits a full prefill gives, bit for bit. */
    @Test
    void incrementalDecodeEqualsPrefillAndBatchingChangesNothing() {
        LlamaConfig config = TestCheckpoints.gqa();
        Path dir = TestCheckpoints.write(config, DType.F16, 21, tmp.resolve("inc"));
        int[] a = randomIds(40, config.vocabSize(), 1);
        int[] b = randomIds(7, config.vocabSize(), 2);
        try (LoadedModel m = LoadedModel.open(dir, LoadedModel.Options.defaults())) {
            float[][] fullA = m.model().promptLogits(a);
            float[][] fullB = m.model().promptLogits(b);
            // scattered, non-contiguous blocks of 8 tokens; a and b interleaved in one cache
            int bs = 8;
            int[] tableA = {9, 2, 7, 0, 4};
            int[] tableB = {5};
            try (KvCache cache = m.backend().kvCache(config, 10, bs)) {
                // prefill the first 30 tokens of a together with all of b, in one step
                int[] tokens = new int[30 + b.length];
                int[] pos = new int[tokens.length];
                for (int i = 0; i < 30; i++) {
                    tokens[i] = a[i];
                    pos[i] = i;
                }
                for (int i = 0; i < b.length; i++) {
                    tokens[30 + i] = b[i];
                    pos[30 + i] = i;
                }
                float[][] step = m.model().forward(new StepBatch(tokens, pos, List.of(
                        new StepBatch.Chunk(0, 30, 30, tableA), new StepBatch.Chunk(30, b.length, b.length, tableB)),
                        new int[]{29, 30 + b.length - 1}), cache);
                assertArrayEquals(fullA[29], step[0]);
                assertArrayEquals(fullB[b.length - 1], step[1]);
                for (int i = 30; i < a.length; i++) {
                    float[][] one = m.model().forward(new StepBatch(new int[]{a[i]}, new int[]{i},
                            List.of(new StepBatch.Chunk(0, 1, i + 1, tableA)), new int[]{0}), cache);
                    assertArrayEquals(fullA[i], one[0], "position " + i);
                }
            }
        }
    }

    static void assertClose(double[][] expected, float[][] actual, double relTol) {
        for (int t = 0; t < expected.length; t++) {
            double max = 0;
            double err = 0;
            for (int v = 0; v < expected[t].length; v++) {
                max = Math.max(max, Math.abs(expected[t][v]));
                err = Math.max(err, Math.abs(expected[t][v] - actual[t][v]));
            }
            assertTrue(max > 0.5, "logits should not be trivially small (max " + max + ")");
            assertTrue(err <= relTol * max, "position " + t + ": max error " + err + " vs max |logit| " + max);
        }
    }
}
