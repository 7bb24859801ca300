package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.KvCacheQuant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend's int8/fp8/fp16 KV storage: stored values round-trip within the format's error (int8 within half
 * a scale step, fp8 within half an e4m3 step, the codes TensorRT-LLM's conventions give), the vector and scalar
 * dequantization agree bit for bit, attention over a quantized cache stays within the bound its storage error
 * implies, and the cache is 1/4 (int8, fp8) or 1/2 (fp16) of the fp32 bytes.
 */
class KvCacheQuantTest {

    /** A one-layer format whose int8/fp8 scale is what the converter writes for {@code amax}. */
    static KvCacheFormat format(KvCacheDtype dtype, float amax) {
        return switch (dtype) {
            case INT8 -> KvCacheFormat.quantized(dtype, new float[]{KvCacheQuant.INT8.scale(amax)});
            case FP8 -> KvCacheFormat.quantized(dtype, new float[]{amax / Numerics.E4M3_MAX});
            default -> KvCacheFormat.of(dtype);
        };
    }

    @Test
    void int8RoundTripsWithinHalfAScaleAndClampsBeyondTheRange() {
        float scale = 0.037f;
        KvArray a = KvArray.allocate(KvCacheDtype.INT8, 1000, scale);
        Random r = new Random(1);
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (r.nextFloat() * 2 - 1) * 127 * scale;
            a.set(i, x[i]);
        }
        for (int i = 0; i < x.length; i++) {
            assertTrue(Math.abs(a.get(i) - x[i]) <= scale / 2 * (1 + 1e-5f), i + ": " + a.get(i) + " vs " + x[i]);
            assertEquals(Math.rint(a.get(i) / scale), a.get(i) / scale, 1e-3, "a whole number of steps");
        }
        a.set(0, 1000 * scale);
        a.set(1, -1000 * scale);
        a.set(2, 5 * scale);
        assertEquals(127 * scale, a.get(0));
        assertEquals(-127 * scale, a.get(1));
        assertEquals(5 * scale, a.get(2), "multiples of the scale are exact");
        assertWidenMatchesGet(a, 1000);
    }

    @Test
    void fp8StoresTheE4m3CodeOfXOverScaleAndSaturates() {
        float scale = 0.01f;
        KvArray a = KvArray.allocate(KvCacheDtype.FP8, 1000, scale);
        Random r = new Random(2);
        float inverse = 1f / scale;
        for (int i = 0; i < 1000; i++) {
            float x = (float) (r.nextGaussian() * 0.5);
            a.set(i, x);
            float expected = Numerics.e4m3ToFloat(Numerics.floatToE4m3(x * inverse)) * scale;
            assertEquals(expected, a.get(i), i + ": " + x);
            if (Math.abs(x * inverse) >= 0x1p-6f) {  // normal e4m3: 3 mantissa bits, error <= 2^-4 relative
                assertTrue(Math.abs(a.get(i) - x) <= 0x1p-4f * Math.abs(x) * (1 + 1e-5f), x + " -> " + a.get(i));
            }
        }
        a.set(0, 1e6f);
        a.set(1, -1e6f);
        assertEquals(448 * scale, a.get(0));
        assertEquals(-448 * scale, a.get(1));
        assertWidenMatchesGet(a, 1000);
    }

    @Test
    void fp16StoresHalfPrecision() {
        KvArray a = KvArray.allocate(KvCacheDtype.FP16, 100, 1f);
        Random r = new Random(3);
        for (int i = 0; i < 100; i++) {
            float x = (float) r.nextGaussian();
            a.set(i, x);
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(x)), a.get(i));
        }
        assertWidenMatchesGet(a, 100);
    }

    private static void assertWidenMatchesGet(KvArray a, int length) {
        for (int from : new int[]{0, 3, 17}) {
            int n = length - from - 5;
            float[] dst = new float[n + 2];
            a.widen(from, dst, 1, n);
            for (int i = 0; i < n; i++) {
                assertEquals(Float.floatToRawIntBits(a.get(from + i)), Float.floatToRawIntBits(dst[1 + i]),
                        "widen vs get at " + (from + i));
            }
        }
    }

    /**
     * |out_q - out_fp32| <= max|dv| + 2 max|ds| max|v|: the values' own error, plus the softmax weights' L1 change
     * (at most twice the largest score change, ds = sum_d |q_d| |dk_d| / sqrt(D)) times the largest value.
     */
    @ParameterizedTest
    @ValueSource(strings = {"int8", "fp8", "fp16"})
    void attentionOverAQuantizedCacheStaysWithinTheBoundOfItsStorageError(String kv) {
        int heads = 8;
        int kvHeads = 2;
        int headDim = 64;
        int blockSize = 16;
        int len = 50;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int cols = qDim + 2 * kvDim;
        Random r = new Random(4);
        CpuTensor seq = AttentionTest.randomQkv(len, cols, r);
        float amax = 0;
        for (int t = 0; t < len; t++) {
            for (int i = qDim; i < cols; i++) {
                amax = Math.max(amax, Math.abs(seq.data[seq.offset(t) + i]));
            }
        }
        int blocks = (len + blockSize - 1) / blockSize;
        int[] table = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            table[b] = blocks - 1 - b;
        }
        CpuKvCache exact = new CpuKvCache(1, kvDim, headDim, blocks, blockSize);
        CpuKvCache quant = new CpuKvCache(1, kvDim, headDim, blocks, blockSize,
                format(KvCacheDtype.parse(kv), amax));
        for (int t = 0; t < len; t++) {
            int slot = table[t / blockSize] * blockSize + t % blockSize;
            exact.store(0, slot, seq.data, seq.offset(t) + qDim, seq.offset(t) + qDim + kvDim);
            quant.store(0, slot, seq.data, seq.offset(t) + qDim, seq.offset(t) + qDim + kvDim);
        }
        float dk = 0;
        float dv = 0;
        float vmax = 0;
        for (int t = 0; t < len; t++) {
            int slot = table[t / blockSize] * blockSize + t % blockSize;
            for (int i = 0; i < kvDim; i++) {
                dk = Math.max(dk, Math.abs(quant.key(0, slot, i) - exact.key(0, slot, i)));
                dv = Math.max(dv, Math.abs(quant.value(0, slot, i) - exact.value(0, slot, i)));
                vmax = Math.max(vmax, Math.abs(exact.value(0, slot, i)));
            }
        }
        try (Parallel p = new Parallel(2)) {
            float[] want = AttentionTest.attend(exact, seq, 0, len, table, qDim, p);
            float[] got = AttentionTest.attend(quant, seq, 0, len, table, qDim, p);
            double worst = 0;
            for (int t = 0; t < len; t++) {
                for (int h = 0; h < heads; h++) {
                    double q1 = 0;
                    for (int d = 0; d < headDim; d++) {
                        q1 += Math.abs(seq.data[seq.offset(t) + h * headDim + d]);
                    }
                    double ds = q1 * dk / Math.sqrt(headDim);
                    double bound = dv + 2 * ds * vmax + 1e-4;
                    for (int d = 0; d < headDim; d++) {
                        int i = t * qDim + h * headDim + d;
                        double err = Math.abs(got[i] - want[i]);
                        worst = Math.max(worst, err);
                        assertTrue(err <= bound, kv + " token " + t + " head " + h + ": error " + err + " > " + bound);
                    }
                }
            }
            assertTrue(worst > 0, "quantization changed nothing: the test would not see a wrong cache");
            System.out.printf("%s KV: worst attention error %.4g (storage error k %.3g, v %.3g)%n", kv, worst, dk, dv);
        }
    }

    @Test
    void bytesPerTokenFollowTheElementType() {
        int layers = 3;
        int kvDim = 128;
        long fp32 = new CpuKvCache(layers, kvDim, 64, 2, 16).bytesPerToken();
        assertEquals(2L * layers * kvDim * 4, fp32);
        float[] scales = {0.1f, 0.2f, 0.3f};
        assertEquals(fp32 / 2, new CpuKvCache(layers, kvDim, 64, 2, 16, KvCacheFormat.of(KvCacheDtype.FP16))
                .bytesPerToken());
        for (KvCacheDtype d : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
            CpuKvCache c = new CpuKvCache(layers, kvDim, 64, 2, 16, KvCacheFormat.quantized(d, scales));
            assertEquals(fp32 / 4, c.bytesPerToken());
            assertEquals(fp32 / 4 * 32, c.totalBytes());
            assertEquals(d, c.dtype());
        }
    }

    @Test
    void theBackendReportsBytesPerTokenAsItsCachesHoldThem() {
        // 3 layers, 2 KV heads of 32 dims: the heads and head_dim differ so a formula mixing them up would show
        LlamaConfig config = new LlamaConfig(100, 96, 128, 3, 6, 2, 32, 64, 1e-5f, 10000.0, false, "float32", 1,
                List.of(2));
        float[] scales = {0.1f, 0.2f, 0.3f};
        try (CpuBackend cpu = new CpuBackend(1)) {
            for (KvCacheFormat f : List.of(KvCacheFormat.AUTO, KvCacheFormat.of(KvCacheDtype.FP32),
                    KvCacheFormat.of(KvCacheDtype.FP16), KvCacheFormat.quantized(KvCacheDtype.INT8, scales),
                    KvCacheFormat.quantized(KvCacheDtype.FP8, scales))) {
                try (var cache = cpu.kvCache(config, 2, 16, f)) {
                    assertEquals(cache.bytesPerToken(), cpu.kvBytesPerToken(config, f), f.toString());
                }
            }
            assertEquals(2L * 3 * 64 * 4, cpu.kvBytesPerToken(config, KvCacheFormat.AUTO), "AUTO is fp32 on the CPU");
        }
    }

    @Test
    void quantizedFormatsNeedOnePositiveScalePerLayer() {
        assertThrows(IllegalArgumentException.class, () -> KvCacheFormat.quantized(KvCacheDtype.INT8, null));
        assertThrows(IllegalArgumentException.class,
                () -> KvCacheFormat.quantized(KvCacheDtype.FP8, new float[]{0.1f, 0f}));
        assertThrows(IllegalArgumentException.class, () -> new CpuKvCache(3, 128, 64, 2, 16,
                KvCacheFormat.quantized(KvCacheDtype.INT8, new float[]{0.1f, 0.1f})));
    }
}
