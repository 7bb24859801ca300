package dev.tinyrt.quant;

import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizersTest {
    static float[] gaussian(int n, long seed, float std) {
        Random r = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (r.nextGaussian() * std);
        }
        return w;
    }

    @Test
    void trtllmInt8UsesAmaxOver128AndClipsThePositiveExtreme() {
        float[] w = {1.0f, -0.5f, 0.25f, 0.0078125f, -1.0f, 0.01171875f};
        QuantizedInts q = IntQuantizer.quantize(w, 1, 6, 6, IntScheme.TRTLLM_INT8, DType.F16);
        assertEquals(1f / 128, q.scales()[0]);
        // +amax maps to 128 and clips to 127; -amax is exactly -128; 1.5 steps rounds away from zero to 2
        assertArrayEquals(new byte[]{127, -64, 32, 1, -128, 2}, q.values());
    }

    @Test
    void tiesFollowEachReferenceImplementation() {
        assertEquals(3f, Rounding.HALF_AWAY_FROM_ZERO.round(2.5f));
        assertEquals(-3f, Rounding.HALF_AWAY_FROM_ZERO.round(-2.5f));
        assertEquals(0f, Rounding.HALF_AWAY_FROM_ZERO.round(0.49999997f));
        assertEquals(2f, Rounding.HALF_EVEN.round(2.5f));
        assertEquals(-2f, Rounding.HALF_EVEN.round(-2.5f));
        assertEquals(4f, Rounding.HALF_EVEN.round(3.5f));
    }

    @Test
    void int4TrtllmUsesAmaxOver8() {
        float[] w = {0.8f, -0.8f, 0.1f, 0.35f};
        QuantizedInts q = IntQuantizer.quantize(w, 1, 4, 4, IntScheme.TRTLLM_INT4, DType.F32);
        assertEquals(0.1f, q.scales()[0], 1e-9);
        assertArrayEquals(new byte[]{7, -8, 1, 4}, q.values());  // 8 clips to 7; 3.5 rounds away to 4
    }

    @Test
    void everySchemeStaysWithinItsBound() {
        int rows = 24;
        int cols = 256;
        float[] w = gaussian(rows * cols, 7, 0.05f);
        w[3] = 0.9f;  // an outlier in one group
        for (int i = 0; i < w.length; i++) {
            w[i] = ScaleStorage.roundTo(DType.F16, w[i]);  // the converter quantizes values of the model dtype
        }
        for (IntScheme scheme : new IntScheme[]{IntScheme.TRTLLM_INT8, IntScheme.TRTLLM_INT4, IntScheme.MODELOPT_INT4,
                IntScheme.MODELOPT_INT8}) {
            for (int group : new int[]{cols, 64}) {
                QuantizedInts q = IntQuantizer.quantize(w, rows, cols, group, scheme, DType.F16);
                float[] d = q.dequantize();
                boolean clipsPositive = scheme.divisor() == 128f || scheme.divisor() == 8f;
                for (int i = 0; i < w.length; i++) {
                    float step = q.scale(i / cols, i % cols);
                    assertEquals(ScaleStorage.roundTo(DType.F16, step), step, "scales are stored as fp16");
                    float err = Math.abs(w[i] - d[i]);
                    int v = q.values()[i];
                    boolean clipped = clipsPositive && v == scheme.max() && w[i] > 0;
                    float bound = (clipped ? step : step / 2) * (1 + 1e-5f) + 1e-9f;
                    assertTrue(err <= bound, scheme + " group " + group + " at " + i + ": |" + w[i] + " - " + d[i]
                            + "| > " + bound);
                    assertTrue(v >= scheme.min() && v <= scheme.max());
                }
            }
        }
    }

    @Test
    void fp8UsesAmaxOver448WithinHalfAnE4m3Step() {
        float[] w = gaussian(4096, 3, 0.02f);
        Fp8Matrix q = Fp8Matrix.quantize(w, 64, 64);
        float amax = 0;
        for (float v : w) {
            amax = Math.max(amax, Math.abs(v));
        }
        assertEquals(amax / 448f, q.scale());
        float[] d = q.dequantize();
        for (int i = 0; i < w.length; i++) {
            float bound = Math.max(Math.abs(w[i]) / 16f, q.scale() * 0x1p-10f) * 1.0001f;
            assertTrue(Math.abs(w[i] - d[i]) <= bound, i + ": " + w[i] + " vs " + d[i]);
        }
        assertEquals(Numerics.floatToE4m3(448f), q.values()[argmaxAbs(w)] & 0x7F);
        assertEquals(1f, Fp8Matrix.activationScale(448f));
    }

    private static int argmaxAbs(float[] w) {
        int best = 0;
        for (int i = 1; i < w.length; i++) {
            if (Math.abs(w[i]) > Math.abs(w[best])) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void gramErrorEqualsTheDirectOutputError() {
        int n = 40;
        int rows = 6;
        int cols = 16;
        float[][] x = new float[n][];
        for (int t = 0; t < n; t++) {
            x[t] = gaussian(cols, 100 + t, 1f);
        }
        float[] w = gaussian(rows * cols, 1, 1f);
        float[] a = gaussian(rows * cols, 2, 1f);
        double direct = 0;
        for (float[] xt : x) {
            for (int r = 0; r < rows; r++) {
                double y = 0;
                double ya = 0;
                for (int c = 0; c < cols; c++) {
                    y += (double) xt[c] * w[r * cols + c];
                    ya += (double) xt[c] * a[r * cols + c];
                }
                direct += (y - ya) * (y - ya);
            }
        }
        direct /= (double) n * rows;
        // Gram multiplies in float (double across chunks): agreement to float rounding, not to double's
        assertEquals(direct, Gram.of(x, cols).outputError(w, a, rows), direct * 1e-6);
    }

    /** Inputs with a few salient channels (large mean |x|), the situation AWQ is designed for. */
    static float[][] outlierActivations(int n, int cols, long seed) {
        Random r = new Random(seed);
        float[][] x = new float[n][cols];
        for (int t = 0; t < n; t++) {
            for (int c = 0; c < cols; c++) {
                float scale = c % 37 == 5 ? 20f : 1f;
                x[t][c] = (float) (r.nextGaussian() * scale);
            }
        }
        return x;
    }

    @Test
    void awqBeatsRoundToNearestOnSalientChannels() {
        int rows = 32;
        int cols = 256;
        float[] w = gaussian(rows * cols, 11, 0.05f);
        float[][] x = outlierActivations(512, cols, 5);
        ActivationStats stats = new ActivationStats(cols, 1, 512);
        stats.add(x);
        Gram gram = Gram.of(stats.sampledRows(), cols);
        AwqSearch.Result awq = AwqSearch.search(w, rows, cols, 128, stats.meanAbs(), gram, 20, false, DType.F16);
        QuantizedInts rtn = IntQuantizer.quantize(w, rows, cols, 128, IntScheme.MODELOPT_INT4, DType.F16);
        assertEquals(gram.outputError(w, rtn.dequantize(), rows), awq.rtnLoss(), awq.rtnLoss() * 1e-9,
                "alpha = 0 is plain round-to-nearest");
        assertTrue(awq.alpha() > 0, "salient channels should pull alpha above 0");
        assertTrue(awq.loss() < 0.8 * awq.rtnLoss(), "AWQ " + awq.loss() + " vs RTN " + awq.rtnLoss());
        float[] effective = AwqSearch.scaleColumns(awq.weights().dequantize(), cols, awq.preScale(), false);
        assertEquals(awq.loss(), gram.outputError(w, effective, rows), awq.loss() * 1e-9);
        for (float p : awq.preScale()) {
            assertEquals(ScaleStorage.roundTo(DType.F16, p), p, "prequant scales are stored as fp16");
        }
    }

    @Test
    void smoothQuantMigratesOutliersIntoTheWeights() {
        int rows = 16;
        int cols = 64;
        float[] w = gaussian(rows * cols, 4, 0.1f);
        float[] act = new float[cols];
        for (int c = 0; c < cols; c++) {
            act[c] = c == 9 ? 60f : 1f + c % 3;
        }
        act[20] = 0f;  // a channel that never activates keeps factor 1
        SmoothQuant.Result sq = SmoothQuant.quantize(w, rows, cols, act, 0.5f, DType.F16);
        float wMax9 = 0;
        for (int r = 0; r < rows; r++) {
            wMax9 = Math.max(wMax9, Math.abs(w[r * cols + 9]));
        }
        assertEquals(ScaleStorage.roundTo(DType.F16, (float) (Math.sqrt(wMax9) / Math.sqrt(60))), sq.preScale()[9]);
        assertEquals(1f, sq.preScale()[20]);
        float smoothedMax = 0;
        for (int c = 0; c < cols; c++) {
            smoothedMax = Math.max(smoothedMax, act[c] * sq.preScale()[c]);
        }
        assertEquals(smoothedMax / 127f, sq.activationScale());
        assertTrue(smoothedMax < 60f / 2, "the outlier channel is flattened");
        float[] deq = sq.weights().dequantize();
        for (int i = 0; i < w.length; i++) {
            float p = sq.preScale()[i % cols];
            float step = sq.weights().scales()[i / cols];
            assertTrue(Math.abs(w[i] - deq[i] * p) <= step / 2 * p * 1.0001f + 1e-9f, "element " + i);
        }
    }

    @Test
    void statisticsKeepAnEvenDeterministicSample() {
        ActivationStats s = new ActivationStats(2, ActivationStats.strideFor(100, 10), 10);
        float[][] rows = new float[100][];
        for (int i = 0; i < 100; i++) {
            rows[i] = new float[]{i, -2 * i};
        }
        s.add(rows);
        assertEquals(11, ActivationStats.strideFor(100, 10), "odd stride");
        float[][] kept = s.sampledRows();
        assertEquals(10, kept.length);
        assertEquals(0f, kept[0][0]);
        assertEquals(11f, kept[1][0]);
        assertArrayEquals(new float[]{99f, 198f}, s.absMax());
        assertArrayEquals(new float[]{49.5f, 99f}, s.meanAbs());
        assertEquals(198f, s.tensorAbsMax());
    }

    @Test
    void awqClipSearchShrinksGroupsWithOutliersAndLowersTheError() {
        int rows = 16;
        int cols = 128;
        float[] w = gaussian(rows * cols, 21, 0.05f);
        for (int r = 0; r < rows; r++) {
            w[r * cols + (r * 7) % cols] = 0.6f;  // one outlier per row wastes most of its group's INT4 range
        }
        float[][] x = new float[256][];
        for (int t = 0; t < x.length; t++) {
            x[t] = gaussian(cols, 500 + t, 1f);
        }
        ActivationStats stats = new ActivationStats(cols, 1, x.length);
        stats.add(x);
        Gram gram = Gram.of(x, cols);
        AwqSearch.Result plain = AwqSearch.search(w, rows, cols, 64, stats.meanAbs(), gram, 4, false, DType.F32);
        AwqSearch.Result clipped = AwqSearch.search(w, rows, cols, 64, stats.meanAbs(), gram, 4, true, DType.F32);
        assertTrue(clipped.loss() < 0.9 * plain.loss(), "clip " + clipped.loss() + " vs " + plain.loss());
        assertEquals(plain.alpha(), clipped.alpha(), "clipping runs after the scale search");
        int saturated = 0;
        for (byte v : clipped.weights().values()) {
            saturated += v == 7 || v == -8 ? 1 : 0;
        }
        assertTrue(saturated >= rows, "outliers saturate at the clipped range");
    }

    @Test
    void kvCacheAmaxSeesKeysAfterRope() {
        dev.tinyrt.model.LlamaConfig config = new dev.tinyrt.model.LlamaConfig(16, 4, 8, 1, 1, 1, 4, 8, 1e-5f, 10000.0,
                false, "float32", 1, java.util.List.of(2));
        float[] identity = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
        float[] half = new float[16];
        for (int i = 0; i < 16; i++) {
            half[i] = identity[i] * 0.5f;
        }
        CalibrationCollector c = new CalibrationCollector(config, 1, 0,
                new CalibrationCollector.KvWeights[]{new CalibrationCollector.KvWeights(identity, half)});
        // row i is position i: k at position 1 is [1, 0, 1, 0], rotated by angle 1 in the (0, 2) pair
        c.onLinearInput(0, dev.tinyrt.model.ActivationObserver.Linear.QKV, new float[][]{{0, 0, 0, 0}, {1, 0, 1, 0}});
        float expected = (float) (Math.cos(1) + Math.sin(1));
        assertEquals(expected, c.result(1, 2).kvAmax()[0], 1e-6f, "above the pre-RoPE max of 1");
        c.onLinearInput(0, dev.tinyrt.model.ActivationObserver.Linear.QKV, new float[][]{{0, 0, 0, 6}});
        assertEquals(6f, c.result(2, 2).kvAmax()[0], 1e-6f, "position 0 is unrotated: k = 6 beats v = 3");
        assertEquals(1f / 127 * 6, KvCacheQuant.INT8.scale(6f), 1e-9f);
        assertEquals(1f, KvCacheQuant.FP8.scale(6f), "FP8 KV scales never go below 1");
        assertEquals(2f, KvCacheQuant.FP8.scale(896f));
    }
}
