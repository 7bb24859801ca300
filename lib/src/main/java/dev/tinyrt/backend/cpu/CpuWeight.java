package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.Weight;

/**
 * A weight the CPU kernels can use. A storage format supplies two things and the shared kernels do the rest:
 * <ul>
 *   <li>{@link #widenRows}: rows as exact fp32 values (prefill: widened once into a scratch block, then
 *       multiplied with every token by the register-tiled kernels of {@link Matmul});</li>
 *   <li>{@link #dot}: a fused row·x for decode that reads each weight byte once and widens it in registers.</li>
 * </ul>
 * Both must give the same bits: {@code dot(r, x)} equals {@link VectorMath#dot} of the widened row with x, i.e.
 * it follows the accumulation scheme described in {@link VectorMath}.
 */
interface CpuWeight extends Weight {
    /** Dot product of row {@code row} with {@code x[xOff .. xOff + cols)}; {@code tmp} holds LANES floats. */
    float dot(int row, float[] x, int xOff, float[] tmp);

    /** Writes rows {@code [from, to)} as fp32, one after another, into {@code dst} from {@code dOff}. */
    void widenRows(int from, int to, float[] dst, int dOff);

    /**
     * {@code out[oOff + r - from] = dot(r, x, xOff)} for rows {@code [from, to)}; a format may override it to walk
     * its memory in a better order (see {@link ColumnBlockedWeight}).
     */
    default void dotRows(int from, int to, float[] x, int xOff, float[] out, int oOff, float[] tmp) {
        for (int r = from; r < to; r++) {
            out[oOff + r - from] = dot(r, x, xOff, tmp);
        }
    }
}
