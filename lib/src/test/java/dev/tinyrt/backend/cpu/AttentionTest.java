package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.StepBatch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention is batch invariant: a query's output does not depend on which other tokens or sequences share its
 * step, on the block layout of the cache or on the thread count, for every KV-cache element type; and it is softmax
 * attention over what the cache holds (checked against a double-precision evaluation of the stored, dequantized
 * keys and values).
 */
class AttentionTest {
    private static final int LEN_A = 40;
    private static final int LEN_B = 7;

    /** heads, kvHeads, headDim, blockSize: GQA groups of 8 (TinyLlama), 5 (a 4-head tile plus one), 1 (MHA). */
    @ParameterizedTest(name = "heads {0}, kv heads {1}, head dim {2}, block {3}, kv {4}")
    @CsvSource({"16, 2, 64, 32, fp32", "10, 2, 10, 8, fp32", "3, 3, 80, 24, fp32", "8, 1, 16, 5, fp32",
            "16, 2, 64, 32, int8", "10, 2, 10, 8, int8", "3, 3, 80, 24, fp8", "8, 1, 16, 5, fp8",
            "16, 2, 64, 32, fp16", "10, 2, 10, 8, fp8"})
    void outputsDependOnlyOnTheQueryAndItsContext(int heads, int kvHeads, int headDim, int blockSize, String kv) {
        Random r = new Random(heads * 31L + headDim);
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int cols = qDim + 2 * kvDim;
        int blocksA = (LEN_A + blockSize - 1) / blockSize;
        int blocksB = (LEN_B + blockSize - 1) / blockSize;
        int[] tableA = new int[blocksA];
        int[] tableB = new int[blocksB];
        int numBlocks = blocksA + blocksB + 3;
        for (int i = 0; i < blocksA; i++) {
            tableA[i] = numBlocks - 1 - 2 * i % numBlocks;  // scattered, descending
        }
        for (int i = 0; i < blocksB; i++) {
            tableB[i] = 1 + 2 * i;
        }
        CpuTensor a = randomQkv(LEN_A, cols, r);
        CpuTensor b = randomQkv(LEN_B, cols, r);
        CpuKvCache cache = new CpuKvCache(1, kvDim, headDim, numBlocks, blockSize,
                KvCacheQuantTest.format(KvCacheDtype.parse(kv), 1.5f * 5));
        for (int i = 0; i < LEN_A; i++) {
            cache.store(0, tableA[i / blockSize] * blockSize + i % blockSize, a.data, a.offset(i) + qDim,
                    a.offset(i) + qDim + kvDim);
        }
        for (int i = 0; i < LEN_B; i++) {
            cache.store(0, tableB[i / blockSize] * blockSize + i % blockSize, b.data, b.offset(i) + qDim,
                    b.offset(i) + qDim + kvDim);
        }
        try (Parallel one = new Parallel(1); Parallel three = new Parallel(3)) {
            float[] fullA = attend(cache, a, 0, LEN_A, tableA, qDim, one);
            assertSoftmaxAttention(a, fullA, heads, kvHeads, headDim, qDim, cache, tableA);
            assertBitsEqual(fullA, attend(cache, a, 0, LEN_A, tableA, qDim, three), "3 threads");
            for (int i = 0; i < LEN_A; i++) {
                float[] alone = attend(cache, a, i, 1, tableA, qDim, one);
                assertBitsEqual(slice(fullA, i, 1, qDim), alone, "position " + i + " decoded alone");
            }
            float[] fullB = attend(cache, b, 0, LEN_B, tableB, qDim, one);
            // the last 10 tokens of A and all of B in one step
            CpuTensor mixed = new CpuTensor(10 + LEN_B, cols);
            System.arraycopy(a.data, a.offset(LEN_A - 10), mixed.data, 0, 10 * cols);
            System.arraycopy(b.data, 0, mixed.data, mixed.offset(10), LEN_B * cols);
            int[] pos = new int[10 + LEN_B];
            for (int i = 0; i < 10; i++) {
                pos[i] = LEN_A - 10 + i;
            }
            for (int i = 0; i < LEN_B; i++) {
                pos[10 + i] = i;
            }
            StepBatch step = new StepBatch(new int[pos.length], pos, List.of(new StepBatch.Chunk(0, 10, LEN_A, tableA),
                    new StepBatch.Chunk(10, LEN_B, LEN_B, tableB)), new int[0]);
            CpuTensor out = new CpuTensor(pos.length, qDim);
            Attention.run(mixed, cache, 0, step, out, three);
            assertBitsEqual(slice(fullA, LEN_A - 10, 10, qDim), slice(out.data, 0, 10, qDim), "A batched with B");
            assertBitsEqual(fullB, slice(out.data, 10, LEN_B, qDim), "B batched with A");
        }
    }

    static CpuTensor randomQkv(int rows, int cols, Random r) {
        CpuTensor t = new CpuTensor(rows, cols);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = (float) (r.nextGaussian() * 1.5);
        }
        return t;
    }

    /** Attention output of rows [first, first + count) of one sequence whose cache already holds its keys. */
    static float[] attend(CpuKvCache cache, CpuTensor seq, int first, int count, int[] table, int qDim,
                                  Parallel parallel) {
        CpuTensor qkv = new CpuTensor(count, seq.cols());
        System.arraycopy(seq.data, seq.offset(first), qkv.data, 0, count * seq.cols());
        int[] pos = new int[count];
        for (int i = 0; i < count; i++) {
            pos[i] = first + i;
        }
        StepBatch step = new StepBatch(new int[count], pos,
                List.of(new StepBatch.Chunk(0, count, first + count, table)), new int[0]);
        CpuTensor out = new CpuTensor(count, qDim);
        Attention.run(qkv, cache, 0, step, out, parallel);
        return out.data;
    }

    private static void assertSoftmaxAttention(CpuTensor seq, float[] out, int heads, int kvHeads, int headDim,
                                               int qDim, CpuKvCache cache, int[] table) {
        int group = heads / kvHeads;
        int bs = cache.blockSize();
        for (int t = 0; t < seq.rows(); t++) {
            for (int h = 0; h < heads; h++) {
                int kv = h / group;
                double[] w = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= t; j++) {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) {
                        dot += (double) seq.data[seq.offset(t) + h * headDim + d]
                                * cache.key(0, table[j / bs] * bs + j % bs, kv * headDim + d);
                    }
                    w[j] = dot / Math.sqrt(headDim);
                    max = Math.max(max, w[j]);
                }
                double sum = 0;
                for (int j = 0; j <= t; j++) {
                    w[j] = Math.exp(w[j] - max);
                    sum += w[j];
                }
                for (int d = 0; d < headDim; d++) {
                    double expected = 0;
                    for (int j = 0; j <= t; j++) {
                        expected += w[j] / sum * cache.value(0, table[j / bs] * bs + j % bs, kv * headDim + d);
                    }
                    float actual = out[t * qDim + h * headDim + d];
                    assertTrue(Math.abs(expected - actual) <= 1e-5 * (1 + Math.abs(expected)),
                            "token " + t + " head " + h + " dim " + d + ": " + actual + " vs " + expected);
                }
            }
        }
    }

    private static float[] slice(float[] data, int firstRow, int rows, int cols) {
        float[] s = new float[rows * cols];
        System.arraycopy(data, firstRow * cols, s, 0, rows * cols);
        return s;
    }

    private static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                    what + ", element " + i + ": " + actual[i] + " vs " + expected[i]);
        }
    }
}
