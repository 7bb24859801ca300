package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.StepBatch;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import java.util.Arrays;

import static dev.tinyrt.backend.cpu.VectorMath.F;
import static dev.tinyrt.backend.cpu.VectorMath.LANES;

/**
 * Causal attention over the paged cache, one job per (token, kv head) covering the query heads that share the kv
 * head, so each key and value loaded serves the whole group.
 *
 * <p>A job reads its kv head's keys and values through a {@link KvTile}: in place for an fp32 cache, else
 * dequantized once into fp32 scratch shared by the group's query heads (each element {@code q * scale}, the same
 * wherever it is read).
 *
 * <p>The arithmetic of one (token, query head) depends on nothing but its own position, never on the batch, the
 * job split or the vector lane a position lands in:
 * <ul>
 *   <li>{@code score_j = (q[0]k_j[0] + q[1]k_j[1] + ...) * scale}, one fma per dimension in order, a lane per
 *       position (keys are stored position-fastest, see {@link CpuKvCache});</li>
 *   <li>{@code e_j = exp(score_j - max)} with {@link VectorMath#exp}; their sum accumulated per lane
 *       ({@code j mod LANES}) in order of j, then {@link VectorMath#laneSum};</li>
 *   <li>{@code out = sum over j in order of (e_j * (1 / sum)) * v_j}, one fma per position.</li>
 * </ul>
 */
final class Attention {
    /** Query heads scored together: four independent fma chains share each key load. */
    private static final int HEAD_TILE = 4;
    private static final ThreadLocal<float[][]> SCORES = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<KvTile> TILES = ThreadLocal.withInitial(KvTile::new);

    private Attention() {
    }

    static void run(CpuTensor qkv, CpuKvCache cache, int layer, StepBatch batch, CpuTensor out, Parallel parallel) {
        int headDim = cache.headDim;
        int heads = out.cols() / headDim;
        int kvHeads = cache.kvHeads;
        int group = heads / kvHeads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        StepBatch.Chunk[] chunkOfRow = new StepBatch.Chunk[qkv.rows()];
        for (StepBatch.Chunk chunk : batch.sequences()) {
            Arrays.fill(chunkOfRow, chunk.tokenStart(), chunk.tokenStart() + chunk.tokenCount(), chunk);
        }
        int[] positions = batch.positions();
        parallel.forRange(qkv.rows() * kvHeads, 1, (from, to) -> {
            KvTile tile = TILES.get();
            for (int job = from; job < to; job++) {
                int row = job / kvHeads;
                int kvHead = job % kvHeads;
                int span = positions[row] + 1;  // causal: positions 0..pos
                tile.load(cache, layer, kvHead, chunkOfRow[row].blockTable(), span);
                float[] s = scores(group * span);
                int q = qkv.offset(row) + kvHead * group * headDim;
                scoreGroup(qkv.data, q, group, headDim, cache.blockSize(), tile, span, scale, s);
                for (int h = 0; h < group; h++) {
                    softmax(s, h * span, span);
                    weightedValues(s, h * span, span, headDim, cache.blockSize(), tile, out.data,
                            out.offset(row) + (kvHead * group + h) * headDim);
                }
            }
            tile.clear();  // a thread's tile must not keep a closed cache's arrays alive
        });
    }

    private static float[] scores(int size) {
        float[][] holder = SCORES.get();
        if (holder[0].length < size) {
            holder[0] = new float[Math.max(size, 2 * holder[0].length)];
        }
        return holder[0];
    }

    /** s[h * span + j] = score of query head h of the group against position j, for j < span. */
    private static void scoreGroup(float[] qkv, int q, int group, int headDim, int blockSize, KvTile tile, int span,
                                   float scale, float[] s) {
        float[] keys = tile.keys;
        for (int b = 0, j0 = 0; j0 < span; b++, j0 += blockSize) {
            int base = tile.keyBase[b];
            for (int o = 0; o < blockSize && j0 + o < span; o += LANES) {
                VectorMask<Float> m = F.indexInRange(0, Math.min(LANES, Math.min(blockSize - o, span - j0 - o)));
                int h = 0;
                for (; h + HEAD_TILE <= group; h += HEAD_TILE) {
                    score4(qkv, q + h * headDim, headDim, keys, base + o, blockSize, m, scale, s, h * span + j0 + o, span);
                }
                for (; h < group; h++) {
                    score1(qkv, q + h * headDim, headDim, keys, base + o, blockSize, m, scale, s, h * span + j0 + o);
                }
            }
        }
    }

    /** Four query heads (at q, q + headDim, ...) against the positions of one key vector. */
    private static void score4(float[] qs, int q, int headDim, float[] keys, int k, int stride, VectorMask<Float> m,
                               float scale, float[] s, int sOff, int sStride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int d = 0; d < headDim; d++) {
            FloatVector kv = FloatVector.fromArray(F, keys, k + d * stride, m);
            a0 = kv.fma(FloatVector.broadcast(F, qs[q + d]), a0);
            a1 = kv.fma(FloatVector.broadcast(F, qs[q + headDim + d]), a1);
            a2 = kv.fma(FloatVector.broadcast(F, qs[q + 2 * headDim + d]), a2);
            a3 = kv.fma(FloatVector.broadcast(F, qs[q + 3 * headDim + d]), a3);
        }
        a0.mul(scale).intoArray(s, sOff, m);
        a1.mul(scale).intoArray(s, sOff + sStride, m);
        a2.mul(scale).intoArray(s, sOff + 2 * sStride, m);
        a3.mul(scale).intoArray(s, sOff + 3 * sStride, m);
    }

    /** One query head against the positions of one key vector: the same per-lane arithmetic as {@link #score4}. */
    private static void score1(float[] qs, int q, int headDim, float[] keys, int k, int stride, VectorMask<Float> m,
                               float scale, float[] s, int sOff) {
        FloatVector a = FloatVector.zero(F);
        for (int d = 0; d < headDim; d++) {
            a = FloatVector.fromArray(F, keys, k + d * stride, m).fma(FloatVector.broadcast(F, qs[q + d]), a);
        }
        a.mul(scale).intoArray(s, sOff, m);
    }

    /** Turns scores s[off, off + n) into softmax weights in place. */
    static void softmax(float[] s, int off, int n) {
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += LANES) {
            VectorMask<Float> m = F.indexInRange(j, n);
            mv = mv.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, s, off + j, m), m);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int l = 0; l < LANES; l++) {
            max = Math.max(max, mv.lane(l));  // max is exact in any order
        }
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < n; j += LANES) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector e = VectorMath.exp(FloatVector.fromArray(F, s, off + j, m).sub(max));
            e.intoArray(s, off + j, m);
            sum = sum.add(e, m);
        }
        float total = 0;
        for (int l = 0; l < LANES; l++) {
            total += sum.lane(l);  // left to right, like VectorMath.laneSum
        }
        float inv = 1f / total;
        for (int j = 0; j < n; j += LANES) {
            VectorMask<Float> m = F.indexInRange(j, n);
            FloatVector.fromArray(F, s, off + j, m).mul(inv).intoArray(s, off + j, m);
        }
    }

    /** out[oOff + d] = sum over j < span, in order, of w[wOff + j] * value_j[d], four vectors of d at a time. */
    private static void weightedValues(float[] w, int wOff, int span, int headDim, int blockSize, KvTile tile,
                                       float[] out, int oOff) {
        float[] values = tile.values;
        int stride = tile.valueStride;
        for (int d0 = 0; d0 < headDim; d0 += 4 * LANES) {
            VectorMask<Float> m0 = F.indexInRange(d0, headDim);
            VectorMask<Float> m1 = F.indexInRange(d0 + LANES, headDim);
            VectorMask<Float> m2 = F.indexInRange(d0 + 2 * LANES, headDim);
            VectorMask<Float> m3 = F.indexInRange(d0 + 3 * LANES, headDim);
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int b = 0, j0 = 0; j0 < span; b++, j0 += blockSize) {
                int end = Math.min(blockSize, span - j0);
                int v = tile.valueBase[b] + d0;
                for (int o = 0; o < end; o++, v += stride) {
                    FloatVector p = FloatVector.broadcast(F, w[wOff + j0 + o]);
                    a0 = FloatVector.fromArray(F, values, v, m0).fma(p, a0);
                    a1 = FloatVector.fromArray(F, values, v + LANES, m1).fma(p, a1);
                    a2 = FloatVector.fromArray(F, values, v + 2 * LANES, m2).fma(p, a2);
                    a3 = FloatVector.fromArray(F, values, v + 3 * LANES, m3).fma(p, a3);
                }
            }
            a0.intoArray(out, oOff + d0, m0);
            a1.intoArray(out, oOff + d0 + LANES, m1);
            a2.intoArray(out, oOff + d0 + 2 * LANES, m2);
            a3.intoArray(out, oOff + d0 + 3 * LANES, m3);
        }
    }
}
