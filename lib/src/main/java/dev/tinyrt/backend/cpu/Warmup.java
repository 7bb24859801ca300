package dev.tinyrt.backend.cpu;

import dev.tinyrt.io.DType;

import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pays two one-time costs when weights are handed to the backend rather than inside the first request (as
 * llama.cpp does with MAP_POPULATE and its warm-up run):
 * <ul>
 *   <li>Page tables: the first touch of each page of a memory-mapped checkpoint faults (about 0.5 s for 2.2 GB
 *       on the 2-core machine); {@link MemorySegment#load()} does it up front.</li>
 *   <li>JIT: Vector API code runs orders of magnitude slower until C2 compiles it. Running each kernel many
 *       times on a short slice (the first bytes of the weight for its format's widening and fused dot, small
 *       fp32 arrays for the tiles) reaches the compile thresholds in a fraction of what the first real prefill would spend.</li>
 * </ul>
 * Warm-up changes no result: the kernels are deterministic, compiled or not.
 */
final class Warmup {
    /** Calls per kernel: past C2's invocation threshold (tier 4 after ~5000 profiled calls). */
    private static final int CALLS = 12_000;
    /** Elements per call: enough loop iterations for C2 to see a real loop, small enough to be quick while interpreted. */
    private static final int SPAN = 16 * VectorMath.LANES;
    private static final Set<String> WARMED = ConcurrentHashMap.newKeySet();

    private Warmup() {
    }

    static void weight(DenseWeight w, MemorySegment bytes) {
        if (bytes.isMapped()) {
            bytes.load();
        }
        if (WARMED.add(w.format() + " " + bytes.getClass().getName())) {
            formatKernels(w.dtype(), bytes, Math.min(SPAN, w.cols()));
        }
        if (WARMED.add("fp32 kernels")) {
            fp32Kernels();
        }
    }

    /** The format's fused dot and row widening, on the first n values of the weight's bytes. */
    private static void formatKernels(DType dtype, MemorySegment bytes, int n) {
        float[] x = filled(n);
        float[] dst = new float[n];
        float[] tmp = new float[VectorMath.LANES];
        float sink = 0;
        for (int i = 0; i < CALLS; i++) {
            switch (dtype) {
                case F32 -> {
                    sink += VectorMath.dotF32(x, 0, bytes, 0, n, tmp);
                    VectorMath.copyF32(bytes, 0, dst, 0, n);
                }
                case F16 -> {
                    sink += VectorMath.dotF16(x, 0, bytes, 0, n, tmp);
                    VectorMath.widenF16(bytes, 0, dst, 0, n);
                }
                default -> {
                    sink += VectorMath.dotBF16(x, 0, bytes, 0, n, tmp);
                    VectorMath.widenBF16(bytes, 0, dst, 0, n);
                }
            }
        }
        consume(sink + dst[0]);
    }

    /** Prefill tiles and the fp32 dot/axpy of attention, on small arrays. */
    private static void fp32Kernels() {
        float[] w = filled(Matmul.TILE * SPAN);
        float[] x = filled(Matmul.TILE * SPAN);
        float[] acc = new float[Matmul.TILE * Matmul.TILE * VectorMath.LANES];
        float sink = 0;
        for (int i = 0; i < CALLS; i++) {
            Matmul.tile4x4(w, 0, x, 0, SPAN, acc);
            Matmul.tile4x1(w, 0, x, 0, SPAN, acc);
            sink += VectorMath.laneSum(acc, 0);
            sink += VectorMath.dot(w, 0, x, 0, SPAN, acc);
            VectorMath.axpy(1e-3f, w, 0, x, 0, SPAN);
        }
        consume(sink);
    }

    private static float[] filled(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i % 7 - 3) * 0.01f;
        }
        return a;
    }

    /** Keeps the JIT from discarding the warm-up's work as dead code. */
    private static volatile float consumed;

    private static void consume(float v) {
        consumed = v;
    }
}
