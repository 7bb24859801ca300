package dev.tinyrt.backend.cpu;

import jdk.incubator.vector.FloatVector;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * {@code out = x · wᵀ} for any {@link CpuWeight}, split over the cores by weight rows.
 *
 * <p>Decode-sized steps (fewer than {@link #TILE} tokens) are bound by memory bandwidth: each row is dotted with
 * the token(s) by the weight's fused kernel, reading every weight byte once. Longer steps are bound by arithmetic:
 * {@link #BLOCK_ROWS} rows are widened once into an fp32 scratch block and multiplied with every token by a
 * register-tiled kernel in which each loaded vector feeds four FMAs. Both paths compute every output element
 * with the accumulation scheme of {@link VectorMath}, so the bits never depend on the path, the tile or the
 * thread that computes it.
 */
final class Matmul {
    /** Rows and tokens of one register tile: 16 accumulators + 5 operands fit AVX-512's 32 vector registers. */
    static final int TILE = 4;
    /** Rows widened at a time: 16 rows of fp32 (128-352 KB) stay in L2 while every token tile passes over them. */
    static final int BLOCK_ROWS = 16;
    /**
     * Tokens multiplied per widened block: the activations streamed past each block stay within a few MB (L3),
     * while re-widening the weights for each further group costs a few percent at most.
     */
    static final int TOKEN_GROUP = 256;
    /** Rows per parallel chunk of the decode path: 10-20 microseconds of work. */
    private static final int DECODE_GRAIN = 64;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Matmul() {
    }

    /** Per-thread buffers, reused across calls. */
    private static final class Scratch {
        float[] block = new float[0];
        final float[] acc = new float[TILE * TILE * LANES];
        final float[] tmp = new float[LANES];

        float[] block(int size) {
            if (block.length < size) {
                block = new float[size];
            }
            return block;
        }
    }

    /** {@code out[t * w.rows() + r] = dot(row r of w, x[t * w.cols() ..])} for {@code t < tokens}. */
    static void multiply(CpuWeight w, float[] x, int tokens, float[] out, Parallel parallel) {
        multiply(w, x, tokens, out, 0, w.rows(), parallel, false);
    }

    /** As {@link #multiply(CpuWeight, float[], int, float[], Parallel)}; see {@link InputFormat#prepare}. */
    static void multiply(CpuWeight w, float[] x, int tokens, float[] out, Parallel parallel,
                         boolean f16QuantizerInputs) {
        multiply(w, x, tokens, out, 0, w.rows(), parallel, f16QuantizerInputs);
    }

    /**
     * Writes row r of token t to {@code out[outOff + t * stride + r]}. The activation rows are prepared once (see
     * {@link CpuWeight#input}); stacked parts that prepare theirs differently run one after another.
     */
    private static void multiply(CpuWeight w, float[] x, int tokens, float[] out, int outOff, int stride,
                                 Parallel parallel, boolean f16QuantizerInputs) {
        if (w instanceof StackedWeight s && preparesInput(s)) {
            int first = 0;
            for (CpuWeight part : s.parts()) {
                multiply(part, x, tokens, out, outOff + first, stride, parallel, f16QuantizerInputs);
                first += part.rows();
            }
            return;
        }
        Activations a = w.input().prepare(x, tokens, w.cols(), f16QuantizerInputs);
        int rows = w.rows();
        if (tokens < TILE) {
            parallel.forRange(rows, DECODE_GRAIN, (from, to) -> fusedRows(w, a, tokens, out, outOff, stride, from, to));
            return;
        }
        for (int t0 = 0; t0 < tokens; t0 += TOKEN_GROUP) {
            int first = t0;
            int count = Math.min(TOKEN_GROUP, tokens - t0);
            parallel.forRange(rows, BLOCK_ROWS, (from, to) -> tiledRows(w, a, first, count, out, outOff, stride,
                    from, to));
        }
    }

    private static boolean preparesInput(StackedWeight s) {
        for (CpuWeight part : s.parts()) {
            if (!part.input().isPlain()) {
                return true;
            }
        }
        return false;
    }

    /** Rows [from, to) for a few tokens, with the weight's fused dot; a 16-row slice stays cached across tokens. */
    private static void fusedRows(CpuWeight w, Activations x, int tokens, float[] out, int outOff, int stride,
                                  int from, int to) {
        float[] tmp = SCRATCH.get().tmp;
        for (int r = from; r < to; r += BLOCK_ROWS) {
            int end = Math.min(to, r + BLOCK_ROWS);
            for (int t = 0; t < tokens; t++) {
                int o = outOff + t * stride + r;
                w.dotRows(r, end, x, t, out, o, tmp);
                w.scaleOutputs(x, t, r, end, out, o);
            }
        }
    }

    /** Rows [from, to) for tokens [first, first + count), one widened block of rows at a time. */
    private static void tiledRows(CpuWeight w, Activations x, int first, int count, float[] out, int outOff,
                                  int stride, int from, int to) {
        Scratch s = SCRATCH.get();
        float[] block = s.block(BLOCK_ROWS * w.cols());
        for (int r = from; r < to; r += BLOCK_ROWS) {
            int end = Math.min(to, r + BLOCK_ROWS);
            w.widenRows(r, end, block, 0);
            tiledBlock(block, outOff + r, end - r, stride, w.cols(), x.values(), first, count, out, s.acc);
            for (int t = first; t < first + count; t++) {
                int o = outOff + t * stride + r;
                w.scaleOutputs(x, t, r, end, out, o);
            }
        }
    }

    /**
     * Multiplies the {@code n} widened rows in {@code block} with tokens [first, first + count) into
     * {@code out[t * stride + col0 + i]}. Only whole 4-row tiles run: rows past n hold stale values whose results
     * are dropped.
     */
    private static void tiledBlock(float[] block, int col0, int n, int stride, int cols, float[] x, int first,
                                   int count, float[] out, float[] acc) {
        int end = first + count;
        int t = first;
        for (; t + TILE <= end; t += TILE) {
            for (int r = 0; r < n; r += TILE) {
                tile4x4(block, r * cols, x, t * cols, cols, acc);
                for (int i = 0; i < Math.min(TILE, n - r); i++) {
                    for (int j = 0; j < TILE; j++) {
                        out[(t + j) * stride + col0 + r + i] =
                                finish(acc, i * TILE + j, block, (r + i) * cols, x, (t + j) * cols, cols);
                    }
                }
            }
        }
        for (; t < end; t++) {
            for (int r = 0; r < n; r += TILE) {
                tile4x1(block, r * cols, x, t * cols, cols, acc);
                for (int i = 0; i < Math.min(TILE, n - r); i++) {
                    out[t * stride + col0 + r + i] = finish(acc, i, block, (r + i) * cols, x, t * cols, cols);
                }
            }
        }
    }

    /** Lane sum of accumulator {@code a}, then the scalar tail of the row · token dot, as the scheme prescribes. */
    private static float finish(float[] acc, int a, float[] w, int wOff, float[] x, int xOff, int n) {
        float sum = VectorMath.laneSum(acc, a * LANES);
        for (int k = F.loopBound(n); k < n; k++) {
            sum += w[wOff + k] * x[xOff + k];
        }
        return sum;
    }

    /**
     * Four consecutive rows of {@code w} (stride n) times four consecutive tokens of {@code x} (stride n): per
     * k-step 8 loads feed 16 FMAs. Accumulator {@code 4 * row + token} is stored to {@code acc}.
     */
    static void tile4x4(float[] w, int wOff, float[] x, int xOff, int n, float[] acc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int w1 = wOff + n;
        int w2 = w1 + n;
        int w3 = w2 + n;
        int x1 = xOff + n;
        int x2 = x1 + n;
        int x3 = x2 + n;
        int bound = F.loopBound(n);
        for (int k = 0; k < bound; k += LANES) {
            FloatVector a0 = FloatVector.fromArray(F, w, wOff + k);
            FloatVector a1 = FloatVector.fromArray(F, w, w1 + k);
            FloatVector a2 = FloatVector.fromArray(F, w, w2 + k);
            FloatVector a3 = FloatVector.fromArray(F, w, w3 + k);
            FloatVector b = FloatVector.fromArray(F, x, xOff + k);
            c00 = a0.fma(b, c00);
            c10 = a1.fma(b, c10);
            c20 = a2.fma(b, c20);
            c30 = a3.fma(b, c30);
            b = FloatVector.fromArray(F, x, x1 + k);
            c01 = a0.fma(b, c01);
            c11 = a1.fma(b, c11);
            c21 = a2.fma(b, c21);
            c31 = a3.fma(b, c31);
            b = FloatVector.fromArray(F, x, x2 + k);
            c02 = a0.fma(b, c02);
            c12 = a1.fma(b, c12);
            c22 = a2.fma(b, c22);
            c32 = a3.fma(b, c32);
            b = FloatVector.fromArray(F, x, x3 + k);
            c03 = a0.fma(b, c03);
            c13 = a1.fma(b, c13);
            c23 = a2.fma(b, c23);
            c33 = a3.fma(b, c33);
        }
        c00.intoArray(acc, 0);
        c01.intoArray(acc, LANES);
        c02.intoArray(acc, 2 * LANES);
        c03.intoArray(acc, 3 * LANES);
        c10.intoArray(acc, 4 * LANES);
        c11.intoArray(acc, 5 * LANES);
        c12.intoArray(acc, 6 * LANES);
        c13.intoArray(acc, 7 * LANES);
        c20.intoArray(acc, 8 * LANES);
        c21.intoArray(acc, 9 * LANES);
        c22.intoArray(acc, 10 * LANES);
        c23.intoArray(acc, 11 * LANES);
        c30.intoArray(acc, 12 * LANES);
        c31.intoArray(acc, 13 * LANES);
        c32.intoArray(acc, 14 * LANES);
        c33.intoArray(acc, 15 * LANES);
    }

    /** Four rows times one token (the tokens left over after the 4x4 tiles); accumulator {@code row}. */
    static void tile4x1(float[] w, int wOff, float[] x, int xOff, int n, float[] acc) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        int w1 = wOff + n;
        int w2 = w1 + n;
        int w3 = w2 + n;
        int bound = F.loopBound(n);
        for (int k = 0; k < bound; k += LANES) {
            FloatVector b = FloatVector.fromArray(F, x, xOff + k);
            c0 = FloatVector.fromArray(F, w, wOff + k).fma(b, c0);
            c1 = FloatVector.fromArray(F, w, w1 + k).fma(b, c1);
            c2 = FloatVector.fromArray(F, w, w2 + k).fma(b, c2);
            c3 = FloatVector.fromArray(F, w, w3 + k).fma(b, c3);
        }
        c0.intoArray(acc, 0);
        c1.intoArray(acc, LANES);
        c2.intoArray(acc, 2 * LANES);
        c3.intoArray(acc, 3 * LANES);
    }
}
