package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.WeightData;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * Decode and prefill matmul throughput of the quantized formats on TinyLlama-shaped weights. Not a test: run it by
 * hand, e.g. {@code java ... dev.tinyrt.backend.cpu.QuantKernelBench 2} (threads). Prints, per format, the median
 * of 9 runs: decode over three layers' linear weights (past the L3 cache) in weight GB/s and ms per layer, and
 * prefill GFLOP/s at 128 tokens on the down projection.
 */
public final class QuantKernelBench {
    private static final int[][] SHAPES = {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}};

    public static void main(String[] args) {
        int threads = Integer.parseInt(args[0]);
        String only = args.length > 1 ? args[1] : "";
        Random r = new Random(1);
        try (Arena arena = Arena.ofShared(); Parallel p = new Parallel(threads)) {
            record Format(String name, BiFunction<int[], Random, WeightData> make) {
            }
            Format[] formats = {
                    new Format("F16", (s, rr) -> dense(arena, s, rr)),
                    new Format("W8A16", (s, rr) -> new WeightData.Int8PerChannel("w", s[0], s[1],
                            bytes(arena, (long) s[0] * s[1], rr), scales(s[0]), null)),
                    new Format("W4A16 g128", (s, rr) -> new WeightData.Int4PerGroup("w", s[0], s[1], 128,
                            bytes(arena, (long) s[0] * s[1] / 2, rr), scales(s[0] * s[1] / 128), null)),
                    new Format("W8A8", (s, rr) -> new WeightData.Int8W8A8("w", s[0], s[1],
                            bytes(arena, (long) s[0] * s[1], rr), scales(s[0]), null)),
                    new Format("FP8", (s, rr) -> new WeightData.Fp8PerTensor("w", s[0], s[1],
                            bytes(arena, (long) s[0] * s[1], rr), 0.01f, 0.01f)),
            };
            for (Format f : formats) {
                if (!f.name().startsWith(only)) {
                    continue;
                }
                CpuBackend backend = new CpuBackend(1);
                CpuWeight[] layers = new CpuWeight[SHAPES.length * 3];
                long bytes = 0;
                for (int i = 0; i < layers.length; i++) {
                    WeightData d = f.make().apply(SHAPES[i % SHAPES.length], r);
                    bytes += d.byteSize();
                    layers[i] = (CpuWeight) backend.weight(d);
                }
                float[] x = random(5632, r);
                float[] out = new float[11264];
                double[] decode = times(() -> {
                    for (CpuWeight w : layers) {
                        Matmul.multiply(w, x, 1, out, p);
                    }
                });
                CpuWeight down = layers[3];
                float[] xs = random(128 * down.cols(), r);
                float[] outs = new float[128 * down.rows()];
                double[] prefill = times(() -> Matmul.multiply(down, xs, 128, outs, p));
                double flop = 2.0 * down.rows() * down.cols() * 128;
                System.out.printf("%-11s decode %5.1f GB/s (best %5.1f), %6.2f ms/layer; prefill down proj %6.1f "
                                + "GFLOP/s (best %6.1f)%n", f.name(), bytes / decode[1] / 1e6, bytes / decode[0] / 1e6,
                        decode[1] / 3, flop / prefill[1] / 1e6, flop / prefill[0] / 1e6);
                backend.close();
            }
        }
    }

    private static WeightData dense(Arena arena, int[] s, Random r) {
        MemorySegment seg = arena.allocate(2L * s[0] * s[1], 64);
        for (long i = 0; i < (long) s[0] * s[1]; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) r.nextGaussian() * 0.02f));
        }
        return new WeightData.Dense("w", dev.tinyrt.io.DType.F16, s[0], s[1], seg);
    }

    private static MemorySegment bytes(Arena arena, long n, Random r) {
        MemorySegment seg = arena.allocate(n, 64);
        byte[] chunk = new byte[1 << 20];
        for (long i = 0; i < n; i += chunk.length) {
            r.nextBytes(chunk);
            for (int j = 0; j < chunk.length; j++) {
                if ((chunk[j] & 0x7F) == 0x7F) {
                    chunk[j] = 0;  // no e4m3 NaN codes
                }
            }
            int len = (int) Math.min(chunk.length, n - i);
            MemorySegment.copy(chunk, 0, seg, ValueLayout.JAVA_BYTE, i, len);
        }
        return seg;
    }

    private static float[] scales(int n) {
        float[] s = new float[n];
        Arrays.fill(s, 0.01f);
        return s;
    }

    private static float[] random(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    /** {best, median} of 9 runs in ms, after 3 warm-up runs. */
    private static double[] times(Runnable run) {
        double[] ms = new double[9];
        for (int warm = 0; warm < 3; warm++) {
            run.run();
        }
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            run.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return new double[]{ms[0], ms[ms.length / 2]};
    }
}
