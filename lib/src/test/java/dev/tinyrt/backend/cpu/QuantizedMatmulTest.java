package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.Numerics;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The quantized formats against {@link QuantizedReference}, bit for bit: widened values, the fused dot, and whole
 * matmuls through every path (decode, 4x4 tiles, leftover tokens, token groups) at one and three threads.
 */
class QuantizedMatmulTest {
    private static final int BLOCK = Int4Weight.BLOCK;
    private static final int[] TOKEN_COUNTS = {1, 2, 3, 4, 5, 9, Matmul.TOKEN_GROUP + 3};
    private static final int[][] SHAPES = {{1, 16}, {5, 60}, {16, 48}, {37, 100}, {70, 33}};
    /** rows, cols, group size */
    private static final int[][] INT4_SHAPES = {{1, BLOCK, BLOCK}, {5, 2 * BLOCK, BLOCK}, {37, 4 * BLOCK, 2 * BLOCK},
            {70, 3 * BLOCK, 3 * BLOCK}};

    private final Arena arena = Arena.ofAuto();

    private MemorySegment randomBytes(long n, Random r, boolean e4m3) {
        MemorySegment s = arena.allocate(n, 64);
        for (long i = 0; i < n; i++) {
            byte b = (byte) r.nextInt(256);
            while (e4m3 && (b & 0x7F) == 0x7F) {  // e4m3 NaN codes never occur in weights
                b = (byte) r.nextInt(256);
            }
            s.set(ValueLayout.JAVA_BYTE, i, b);
        }
        return s;
    }

    private static float[] positive(int n, Random r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (0.002 + 0.02 * r.nextDouble());
        }
        return v;
    }

    private static float[] preScale(int n, Random r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.exp(r.nextGaussian());
        }
        return v;
    }

    private static float[] gaussian(int n, Random r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** Every quantized form in several shapes, with and without pre-scales. */
    private List<WeightData> weights(Random r) {
        List<WeightData> all = new ArrayList<>();
        for (int[] s : SHAPES) {
            int rows = s[0];
            int cols = s[1];
            all.add(new WeightData.Int8PerChannel("int8", rows, cols, randomBytes((long) rows * cols, r, false),
                    positive(rows, r), null));
            all.add(new WeightData.Int8PerChannel("int8+pre", rows, cols, randomBytes((long) rows * cols, r, false),
                    positive(rows, r), preScale(cols, r)));
            all.add(new WeightData.Int8W8A8("w8a8", rows, cols, randomBytes((long) rows * cols, r, false),
                    positive(rows, r), preScale(cols, r)));
            all.add(new WeightData.Int8W8A8("w8a8-nopre", rows, cols, randomBytes((long) rows * cols, r, false),
                    positive(rows, r), null));
            // activation scale small enough that some |x| / scale pass 448 and saturate
            all.add(new WeightData.Fp8PerTensor("fp8", rows, cols, randomBytes((long) rows * cols, r, true), 0.01f,
                    0.004f));
        }
        for (int[] s : INT4_SHAPES) {
            int rows = s[0];
            int cols = s[1];
            int group = s[2];
            all.add(new WeightData.Int4PerGroup("int4", rows, cols, group, randomBytes((long) rows * cols / 2, r, false),
                    positive(rows * (cols / group), r), null));
            all.add(new WeightData.Int4PerGroup("awq", rows, cols, group, randomBytes((long) rows * cols / 2, r, false),
                    positive(rows * (cols / group), r), preScale(cols, r)));
        }
        return all;
    }

    private static String describe(WeightData d) {
        return d.name() + " " + d.rows() + "x" + d.cols();
    }

    static void assertBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                assertEquals(expected[i], actual[i], what + " element " + i);
                throw new AssertionError(what + " element " + i + ": " + expected[i] + " vs " + actual[i]);
            }
        }
    }

    @Test
    void widenedValuesAndTheFusedDotMatchTheReference() {
        Random r = new Random(11);
        float[] tmp = new float[VectorMath.LANES];
        for (WeightData d : weights(r)) {
            CpuWeight w = QuantizedWeights.create(d);
            int rows = d.rows();
            int cols = d.cols();
            float[] expected = QuantizedReference.weightValues(d);
            float[] all = new float[rows * cols];
            w.widenRows(0, rows, all, 0);
            assertBitsEqual(expected, all, describe(d) + " widenRows");
            float[] x = gaussian(cols, r);
            float[] dots = new float[rows];
            float[] expectedDots = new float[rows];
            for (int row = 0; row < rows; row++) {
                dots[row] = w.dot(row, x, 0, tmp);
                expectedDots[row] = QuantizedReference.schemeDot(expected, row * cols, x, 0, cols);
            }
            assertBitsEqual(expectedDots, dots, describe(d) + " dot");
            // row ranges starting and ending inside groups of four (stacked parts, thread chunks)
            for (int from = 0; from < Math.min(rows, 6); from++) {
                for (int to = Math.max(from + 1, rows - 5); to <= rows; to++) {
                    float[] some = new float[to - from];
                    w.dotRows(from, to, x, 0, some, 0, tmp);
                    assertBitsEqual(java.util.Arrays.copyOfRange(expectedDots, from, to), some,
                            describe(d) + " dotRows " + from + ".." + to);
                }
            }
        }
    }

    @Test
    void everyPathGivesTheReferenceBits() {
        Random r = new Random(12);
        try (Parallel one = new Parallel(1); Parallel three = new Parallel(3)) {
            for (WeightData d : weights(r)) {
                CpuWeight w = QuantizedWeights.create(d);
                for (int tokens : TOKEN_COUNTS) {
                    float[] x = gaussian(tokens * d.cols(), r);
                    float[] expected = QuantizedReference.matmul(d, x, tokens);
                    for (Parallel p : new Parallel[]{one, three}) {
                        float[] out = new float[tokens * d.rows()];
                        Matmul.multiply(w, x, tokens, out, p);
                        assertBitsEqual(expected, out, describe(d) + ", " + tokens + " tokens, " + p.threads()
                                + " threads");
                    }
                }
            }
        }
    }

    /**
     * Stacked parts that prepare their inputs differently (each its own pre-scale or activation scale, as fc and
     * gate in a SmoothQuant or AWQ checkpoint) run as separate matmuls into their columns of the output.
     */
    @Test
    void stackedPartsWithTheirOwnInputsMatchThePartsAlone() {
        Random r = new Random(13);
        int cols = 2 * BLOCK;
        List<List<WeightData>> stacks = List.of(
                List.of(new WeightData.Int8W8A8("a", 21, cols, randomBytes(21L * cols, r, false), positive(21, r),
                                preScale(cols, r)),
                        new WeightData.Int8W8A8("b", 7, cols, randomBytes(7L * cols, r, false), positive(7, r),
                                preScale(cols, r))),
                List.of(new WeightData.Int4PerGroup("a", 9, cols, BLOCK, randomBytes(9L * cols / 2, r, false),
                                positive(18, r), preScale(cols, r)),
                        new WeightData.Int8PerChannel("b", 30, cols, randomBytes(30L * cols, r, false),
                                positive(30, r), null),
                        new WeightData.Fp8PerTensor("c", 5, cols, randomBytes(5L * cols, r, true), 0.02f, 0.01f)));
        try (Parallel p = new Parallel(2)) {
            for (List<WeightData> parts : stacks) {
                CpuWeight stacked = new StackedWeight(parts.stream().map(QuantizedWeights::create)
                        .toArray(CpuWeight[]::new));
                int rows = stacked.rows();
                for (int tokens : new int[]{1, 6}) {
                    float[] x = gaussian(tokens * cols, r);
                    float[] expected = new float[tokens * rows];
                    int first = 0;
                    for (WeightData part : parts) {
                        float[] partOut = QuantizedReference.matmul(part, x, tokens);
                        for (int t = 0; t < tokens; t++) {
                            System.arraycopy(partOut, t * part.rows(), expected, t * rows + first, part.rows());
                        }
                        first += part.rows();
                    }
                    float[] out = new float[tokens * rows];
                    Matmul.multiply(stacked, x, tokens, out, p);
                    assertBitsEqual(expected, out, parts.size() + " parts, " + tokens + " tokens");
                }
            }
        }
    }

    /**
     * Rows so wide that fp32 lane sums of int8 products round (weights -127, every activation at the row's amax,
     * 1042 products per lane): decode leaves the integer kernel and still agrees with the prefill tiles, whose
     * rounded sums differ from the exact integer ones.
     */
    @Test
    void w8a8RowsTooWideForExactLaneSumsStillAgreeAcrossPaths() {
        int cols = (W8A8Weight.EXACT_TERMS_PER_LANE + 10) * VectorMath.LANES + 3;
        int rows = 3;
        MemorySegment q = arena.allocate((long) rows * cols);
        q.fill((byte) -127);
        WeightData d = new WeightData.Int8W8A8("wide", rows, cols, q, new float[]{1f, 0.5f, 0.25f}, null);
        CpuWeight w = QuantizedWeights.create(d);
        try (Parallel p = new Parallel(2)) {
            for (int tokens : new int[]{1, 5}) {
                float[] x = new float[tokens * cols];
                java.util.Arrays.fill(x, 3f);
                float[] expected = QuantizedReference.matmul(d, x, tokens);
                float[] out = new float[tokens * rows];
                Matmul.multiply(w, x, tokens, out, p);
                assertBitsEqual(expected, out, tokens + " tokens");
            }
        }
        float[] minus127 = new float[cols];
        float[] plus127 = new float[cols];
        java.util.Arrays.fill(minus127, -127f);
        java.util.Arrays.fill(plus127, 127f);
        assertTrue(QuantizedReference.integerDot(minus127, 0, plus127, 0, cols)
                        != QuantizedReference.schemeDot(minus127, 0, plus127, 0, cols),
                "at this width the exact integer lane sums and the fp32 ones differ");
    }

    /** Per-token int8 activations reconstruct the pre-scaled row within half a step; a zero row stays zero. */
    @Test
    void perTokenInt8ActivationsRoundToTheNearestStep() {
        Random r = new Random(14);
        int cols = 37;
        float[] pre = preScale(cols, r);
        float[] x = gaussian(3 * cols, r);
        java.util.Arrays.fill(x, 2 * cols, 3 * cols, 0f);
        Activations a = InputFormat.int8PerToken(pre).prepare(x, 3, cols);
        for (int t = 0; t < 3; t++) {
            float amax = 0;
            for (int c = 0; c < cols; c++) {
                float y = x[t * cols + c] * pre[c];
                amax = Math.max(amax, Math.abs(y));
                assertEquals(a.int8()[t * cols + c], a.values()[t * cols + c]);
                assertEquals(y, a.values()[t * cols + c] * a.scales()[t], a.scales()[t] * 0.5001f);
            }
            assertEquals(amax / 127f, a.scales()[t]);
        }
        assertEquals(0f, a.scales()[2]);
        int steps = 0;
        for (int c = 0; c < cols; c++) {
            steps = Math.max(steps, Math.abs(a.int8()[c]));
        }
        assertEquals(127, steps, "the largest value of a row maps to +-127");
    }

    @Test
    void f16QuantizerInputsRoundOnlyWhatTheActivationQuantizersSee() {
        Random r = new Random(15);
        int cols = 37;
        float[] x = gaussian(2 * cols, r);
        float[] rounded = x.clone();
        for (int i = 0; i < rounded.length; i++) {
            rounded[i] = Float.float16ToFloat(Float.floatToFloat16(rounded[i]));
        }
        for (InputFormat f : List.of(InputFormat.int8PerToken(preScale(cols, r)), InputFormat.e4m3(0.004f))) {
            Activations expected = f.prepare(rounded, 2, cols);
            Activations actual = f.prepare(x, 2, cols, true);
            assertBitsEqual(expected.values(), actual.values(), f.quantization() + " values");
            assertBitsEqual(expected.scales(), actual.scales(), f.quantization() + " scales");
        }
        float[] pre = preScale(cols, r);
        assertBitsEqual(InputFormat.preScaled(pre).prepare(x, 2, cols).values(),
                InputFormat.preScaled(pre).prepare(x, 2, cols, true).values(), "weight-only formats keep fp32 x");
    }

    @Test
    void e4m3WideningIsExactForEveryCode() {
        MemorySegment codes = arena.allocate(256);
        for (int b = 0; b < 256; b++) {
            codes.set(ValueLayout.JAVA_BYTE, b, (byte) ((b & 0x7F) == 0x7F ? 0 : b));
        }
        CpuWeight w = QuantizedWeights.create(new WeightData.Fp8PerTensor("codes", 1, 256, codes, 1f, 1f));
        float[] widened = new float[256];
        w.widenRows(0, 1, widened, 0);
        float[] onehot = new float[256];
        float[] tmp = new float[VectorMath.LANES];
        for (int b = 0; b < 256; b++) {
            float expected = Numerics.e4m3ToFloat(codes.get(ValueLayout.JAVA_BYTE, b));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(widened[b]), "code " + b);
            onehot[b] = 1f;
            assertEquals(expected + 0f, w.dot(0, onehot, 0, tmp), "vector widening of code " + b);  // -0 sums to +0
            onehot[b] = 0f;
        }
    }

    @Test
    void int4NeedsWholeBlocksOfColumns() {
        Random r = new Random(15);
        int cols = BLOCK + 2;
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () ->
                QuantizedWeights.create(new WeightData.Int4PerGroup("odd", 2, cols, cols, randomBytes(cols, r, false),
                        positive(2, r), null)));
        assertTrue(e.getMessage().contains("divisible by " + BLOCK), e.getMessage());
    }

    @Test
    void formatsAndOwnedBytesAreReported() {
        Random r = new Random(16);
        int cols = 4 * BLOCK;
        assertEquals("W8A16", QuantizedWeights.create(new WeightData.Int8PerChannel("a", 2, cols,
                randomBytes(2L * cols, r, false), positive(2, r), null)).format());
        CpuWeight int4 = QuantizedWeights.create(new WeightData.Int4PerGroup("b", 2, cols, BLOCK,
                randomBytes(cols, r, false), positive(8, r), null));
        assertEquals("W4A16 g" + BLOCK, int4.format());
        assertEquals(4 * cols / 2 + 4L * 8, int4.ownedBytes(), "nibbles padded to a group of four rows, plus scales");
        assertEquals("W8A8", QuantizedWeights.create(new WeightData.Int8W8A8("c", 2, cols,
                randomBytes(2L * cols, r, false), positive(2, r), null)).format());
        assertEquals("FP8", QuantizedWeights.create(new WeightData.Fp8PerTensor("d", 2, cols,
                randomBytes(2L * cols, r, true), 1f, 1f)).format());
    }
}
