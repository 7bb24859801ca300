package dev.tinyrt.backend.cpu;

import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Batch invariance at the kernel level: whatever the number of tokens in the step (decode path, 4x4 tiles,
 * leftover tokens, token groups), the tile a row falls into, the storage format or the thread count, every
 * output is bit for bit the reference dot of the widened row with the token.
 */
class MatmulTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static DenseWeight randomWeight(Arena arena, DType dtype, int rows, int cols, Random r) {
        MemorySegment bytes = arena.allocate((long) rows * cols * dtype.byteSize());
        for (int i = 0; i < rows * cols; i++) {
            float v = (float) r.nextGaussian();
            switch (dtype) {
                case F32 -> bytes.setAtIndex(F32, i, v);
                case F16 -> bytes.setAtIndex(I16, i, Float.floatToFloat16(v));
                default -> bytes.setAtIndex(I16, i, Numerics.floatToBf16(v));
            }
        }
        return new DenseWeight(DenseFormat.of(dtype), rows, cols, bytes, 0);
    }

    private static float[] reference(CpuWeight w, float[] x, int tokens) {
        int rows = w.rows();
        int cols = w.cols();
        float[] row = new float[cols];
        float[] out = new float[tokens * rows];
        float[] tmp = new float[VectorMath.LANES];
        for (int r = 0; r < rows; r++) {
            w.widenRows(r, r + 1, row, 0);
            for (int t = 0; t < tokens; t++) {
                out[t * rows + r] = VectorMath.dot(row, 0, x, t * cols, cols, tmp);
            }
        }
        return out;
    }

    private static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                assertEquals(expected[i], actual[i], what + " element " + i);
            }
        }
    }

    @Test
    void everyPathGivesTheReferenceBits() {
        Random r = new Random(7);
        try (Arena arena = Arena.ofShared(); Parallel one = new Parallel(1); Parallel three = new Parallel(3)) {
            for (DType dtype : new DType[]{DType.F16, DType.BF16, DType.F32}) {
                for (int[] shape : new int[][]{{1, 16}, {5, 60}, {16, 48}, {37, 100}, {70, 33}}) {
                    DenseWeight dense = randomWeight(arena, dtype, shape[0], shape[1], r);
                    // narrow blocks: several per row, the last one partial and holding the scalar tail
                    CpuWeight blocked = new ColumnBlockedWeight(dense.denseFormat(), shape[0], shape[1], dense.bytes(),
                            2 * VectorMath.LANES);
                    for (CpuWeight w : new CpuWeight[]{dense, blocked}) {
                        String name = w.getClass().getSimpleName() + " " + dtype + " " + shape[0] + "x" + shape[1];
                        everyTokenCountAndThreadCount(w, r, one, three, name);
                    }
                }
            }
        }
    }

    private static void everyTokenCountAndThreadCount(CpuWeight w, Random r, Parallel one, Parallel three,
                                                      String name) {
        for (int tokens : new int[]{1, 2, 3, 4, 5, 9, Matmul.TOKEN_GROUP + 3}) {
            float[] x = new float[tokens * w.cols()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] expected = reference(w, x, tokens);
            for (Parallel p : new Parallel[]{one, three}) {
                float[] out = new float[tokens * w.rows()];
                Matmul.multiply(w, x, tokens, out, p);
                assertBitsEqual(expected, out, name + ", " + tokens + " tokens, " + p.threads() + " threads");
            }
        }
    }

    /** Column blocks hold the same values as the row-major weight and give the same dot products. */
    @Test
    void columnBlocksChangeNoBit() {
        Random r = new Random(9);
        try (Arena arena = Arena.ofShared()) {
            DenseWeight dense = randomWeight(arena, DType.BF16, 9, 5 * VectorMath.LANES + 3, r);
            ColumnBlockedWeight blocked = new ColumnBlockedWeight(dense.denseFormat(), dense.rows(), dense.cols(),
                    dense.bytes(), 2 * VectorMath.LANES);
            float[] a = new float[dense.rows() * dense.cols()];
            float[] b = new float[a.length];
            dense.widenRows(0, dense.rows(), a, 0);
            blocked.widenRows(0, dense.rows(), b, 0);
            assertBitsEqual(a, b, "widened rows");
            float[] x = new float[dense.cols()];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            float[] tmp = new float[VectorMath.LANES];
            float[] rowsAtOnce = new float[dense.rows()];
            blocked.dotRows(0, dense.rows(), x, 0, rowsAtOnce, 0, tmp);
            float[] expected = new float[dense.rows()];
            float[] oneByOne = new float[dense.rows()];
            for (int row = 0; row < dense.rows(); row++) {
                expected[row] = dense.dot(row, x, 0, tmp);
                oneByOne[row] = blocked.dot(row, x, 0, tmp);
            }
            assertBitsEqual(expected, oneByOne, "dot");
            assertBitsEqual(expected, rowsAtOnce, "dotRows");
            assertThrows(IllegalArgumentException.class, () -> new ColumnBlockedWeight(dense.denseFormat(), dense.rows(),
                    dense.cols(), dense.bytes(), VectorMath.LANES + 1));
        }
    }

    /** Fused q|k|v-style weights: ranges that straddle the parts give the same bits as the parts alone. */
    @Test
    void stackedWeightsMatchTheirParts() {
        Random r = new Random(8);
        try (Arena arena = Arena.ofShared(); Parallel p = new Parallel(2)) {
            DenseWeight a = randomWeight(arena, DType.F16, 21, 40, r);
            DenseWeight b = randomWeight(arena, DType.F16, 7, 40, r);
            DenseWeight c = randomWeight(arena, DType.F16, 30, 40, r);
            CpuWeight stacked = new StackedWeight(a, b, c);
            for (int tokens : new int[]{1, 6}) {
                float[] x = new float[tokens * 40];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                float[] out = new float[tokens * 58];
                Matmul.multiply(stacked, x, tokens, out, p);
                float[] expected = new float[tokens * 58];
                int first = 0;
                for (CpuWeight part : new CpuWeight[]{a, b, c}) {
                    float[] partOut = reference(part, x, tokens);
                    for (int t = 0; t < tokens; t++) {
                        System.arraycopy(partOut, t * part.rows(), expected, t * 58 + first, part.rows());
                    }
                    first += part.rows();
                }
                assertBitsEqual(expected, out, tokens + " tokens");
            }
        }
    }

    @Test
    void aFailingChunkFailsTheCallAndThePoolStaysUsable() {
        try (Parallel p = new Parallel(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forRange(100, 10, (from, to) -> {
                if (from == 50) {
                    throw new IllegalStateException("chunk " + from);
                }
            }));
            assertEquals("chunk 50", e.getMessage());
            int[] hits = new int[100];
            p.forRange(100, 7, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits[i]++;
                }
            });
            for (int i = 0; i < 100; i++) {
                assertEquals(1, hits[i], "index " + i);
            }
        }
    }
}
