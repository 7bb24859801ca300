package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.StepBatch;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pays two one-time costs when weights are handed to the backend rather than inside the first request (as
 * llama.cpp does with MAP_POPULATE and its warm-up run):
 * <ul>
 *   <li>Page tables: the first touch of each page of a memory-mapped checkpoint faults (0.2-0.5 s for 2.2 GB
 *       on the 2-core machine); {@link MemorySegment#load()} does it up front.</li>
 *   <li>JIT: Vector API code runs orders of magnitude slower until C2 compiles it. Running each kernel many
 *       times (the weight's first rows for its format's fused dot and widening, small fp32 arrays for the tiles)
 *       reaches the compile thresholds in a fraction of what the first real prefill would spend.</li>
 * </ul>
 * Warm-up changes no result: the kernels are deterministic, compiled or not.
 */
final class Warmup {
    /**
     * Calls per kernel. C2 (tier 4) compiles a method after about 5000 calls, or after 600 once calls plus loop
     * iterations pass 15000: a whole row (hundreds of iterations) needs the 600, a short slice the 5000.
     */
    private static final int ROW_CALLS = 1_500;
    private static final int SLICE_CALLS = 8_000;
    /** Elements per call of the fp32 kernels: a real loop for C2 to see, quick while still interpreted. */
    private static final int SPAN = 16 * VectorMath.LANES;
    private static final Set<String> WARMED = ConcurrentHashMap.newKeySet();

    private Warmup() {
    }

    /** Pages in {@code bytes} if mapped; compiles the kernels {@code w}'s format uses, once per JVM. */
    static void weight(CpuWeight w, MemorySegment bytes) {
        if (bytes.isMapped()) {
            bytes.load();
        }
        // the segment class is part of the key: compiled code specializes on it
        if (WARMED.add(w.getClass().getName() + " " + w.format() + " " + bytes.getClass().getName())) {
            formatKernels(w);
        }
        if (WARMED.add("fp32 kernels")) {
            fp32Kernels();
        }
    }

    /** The format's fused dot and row widening, on the weight's first row. */
    private static void formatKernels(CpuWeight w) {
        float[] x = filled(w.cols());
        float[] dst = new float[w.cols()];
        float[] tmp = new float[VectorMath.LANES];
        float sink = 0;
        // the decode path over prepared rows, on a group of rows (formats with four-row kernels, W8A8's integer one)
        Activations prepared = w.input().prepare(x, 1, w.cols());
        int group = Math.min(w.rows(), InterleavedRows.ROWS);
        float[] out = new float[group];
        for (int i = 0; i < ROW_CALLS; i++) {
            sink += w.dot(0, x, 0, tmp);
            w.dotRows(0, group, prepared, 0, out, 0, tmp);
            w.widenRows(0, 1, dst, 0);
        }
        sink += out[0];
        consume(sink + dst[0]);
    }

    /** Prefill tiles, the norms' dot and swiglu on small arrays, then attention on a one-block cache. */
    private static void fp32Kernels() {
        float[] w = filled(Matmul.TILE * SPAN);
        float[] x = filled(Matmul.TILE * SPAN);
        float[] acc = new float[Matmul.TILE * Matmul.TILE * VectorMath.LANES];
        float sink = 0;
        for (int i = 0; i < SLICE_CALLS; i++) {
            Matmul.tile4x4(w, 0, x, 0, SPAN, acc);
            Matmul.tile4x1(w, 0, x, 0, SPAN, acc);
            sink += VectorMath.laneSum(acc, 0);
            sink += VectorMath.dot(w, 0, x, 0, SPAN, acc);
            VectorMath.swiglu(w, 0, x, 0, acc, 0, SPAN / Matmul.TILE);
        }
        consume(sink + acc[0] + attention());
    }

    /** One token over a 32-position block, a GQA group of 5 query heads: a 4-head tile plus a single head. */
    private static float attention() {
        int headDim = 64;
        int heads = 5;
        int blockSize = 32;
        CpuKvCache cache = new CpuKvCache(1, headDim, headDim, 1, blockSize);
        CpuTensor qkv = new CpuTensor(1, (heads + 2) * headDim);
        System.arraycopy(filled(qkv.cols()), 0, qkv.data, 0, qkv.cols());
        for (int slot = 0; slot < blockSize; slot++) {
            cache.store(0, slot, qkv.data, heads * headDim, (heads + 1) * headDim);
        }
        StepBatch step = new StepBatch(new int[1], new int[]{blockSize - 1},
                List.of(new StepBatch.Chunk(0, 1, blockSize, new int[]{0})), new int[0]);
        CpuTensor out = new CpuTensor(1, heads * headDim);
        try (Parallel inline = new Parallel(1)) {
            for (int i = 0; i < ROW_CALLS; i++) {
                Attention.run(qkv, cache, 0, step, out, inline);
            }
        }
        return out.data[0];
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
