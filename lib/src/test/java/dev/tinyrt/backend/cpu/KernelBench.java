package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

/**
 * Kernel throughput on TinyLlama-shaped fp16 weights, next to the machine's plain read bandwidth. Not a test: run
 * it by hand, e.g. {@code java ... dev.tinyrt.backend.cpu.KernelBench 2} (threads). Prints the median of 9 runs:
 * prefill matmul GFLOP/s (128 tokens) per shape, decode matmul GB/s over one layer set (larger than the L3 cache),
 * and a plain vector read of the same bytes.
 */
public final class KernelBench {
    private static final int[][] SHAPES = {{2560, 2048}, {2048, 2048}, {11264, 2048}, {2048, 5632}};

    public static void main(String[] args) {
        int threads = Integer.parseInt(args[0]);
        Random r = new Random(1);
        try (Arena arena = Arena.ofShared(); Parallel p = new Parallel(threads)) {
            DenseWeight[] layer = new DenseWeight[SHAPES.length * 3];  // three layers' worth: past the L3 cache
            for (int i = 0; i < layer.length; i++) {
                layer[i] = randomF16(arena, SHAPES[i % SHAPES.length][0], SHAPES[i % SHAPES.length][1], r);
            }
            for (int s = 0; s < SHAPES.length; s++) {
                DenseWeight w = layer[s];
                float[] x = random(128 * w.cols(), r);
                float[] out = new float[128 * w.rows()];
                double ms = medianMs(() -> Matmul.multiply(w, x, 128, out, p));
                System.out.printf("prefill %5d x %4d, 128 tokens: %6.1f GFLOP/s%n", w.rows(), w.cols(),
                        2.0 * w.rows() * w.cols() * 128 / ms / 1e6);
            }
            long bytes = Arrays.stream(layer).mapToLong(w -> 2L * w.rows() * w.cols()).sum();
            float[] x = random(5632, r);
            float[] out = new float[11264];
            double decodeMs = medianMs(() -> {
                for (DenseWeight w : layer) {
                    Matmul.multiply(w, x, 1, out, p);
                }
            });
            float[] sink = new float[threads];
            double readMs = medianMs(() -> {
                for (DenseWeight w : layer) {
                    MemorySegment seg = w.bytes();
                    int pieces = (int) (seg.byteSize() >> 16);
                    p.forRange(pieces, 1, (from, to) -> sink[0] += read(seg, (long) from << 16, (long) to << 16));
                }
            });
            long readBytes = Arrays.stream(layer).mapToLong(w -> w.bytes().byteSize() >> 16 << 16).sum();
            System.out.printf("decode matmul over %.0f MB: %.1f GB/s; plain read: %.1f GB/s%n", bytes / 1e6,
                    bytes / decodeMs / 1e6, readBytes / readMs / 1e6);
        }
    }

    private static DenseWeight randomF16(Arena arena, int rows, int cols, Random r) {
        MemorySegment seg = arena.allocate(2L * rows * cols, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) r.nextGaussian() * 0.02f));
        }
        return new DenseWeight(DenseFormat.F16, rows, cols, seg, 0);
    }

    private static float[] random(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static double medianMs(Runnable run) {
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
        return ms[ms.length / 2];
    }

    private static float read(MemorySegment s, long from, long to) {
        FloatVector a = FloatVector.zero(VectorMath.F);
        FloatVector b = a;
        for (long i = from; i < to; i += 128) {
            a = a.add(FloatVector.fromMemorySegment(VectorMath.F, s, i, VectorMath.LE));
            b = b.add(FloatVector.fromMemorySegment(VectorMath.F, s, i + 64, VectorMath.LE));
        }
        return a.add(b).lane(0);
    }
}
