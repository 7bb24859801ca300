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

    /**
     * How this weight wants its activation rows (pre-scaled, quantized): {@link Matmul} prepares them once per
     * matmul, then runs {@link #dotRows(int, int, Activations, int, float[], int, float[])} or the tiles over
     * {@link #widenRows} with the prepared values, then {@link #scaleOutputs}. As they are by default.
     */
    default InputFormat input() {
        return InputFormat.PLAIN;
    }

    /**
     * Decode over prepared rows: {@code out[oOff + r - from]} for rows [from, to) and token {@code token}. By default
     * the fused dot over the prepared fp32 values; a format may read another form (W8A8: the int8 bytes), with the
     * same bits.
     */
    default void dotRows(int from, int to, Activations x, int token, float[] out, int oOff, float[] tmp) {
        dotRows(from, to, x.values(), token * cols(), out, oOff, tmp);
    }

    /**
     * Scales the raw outputs of rows [from, to) for {@code token} (at {@code out[oOff..]}) where the format
     * factored scales out of its dot products (quantized activations); nothing by default.
     */
    default void scaleOutputs(Activations x, int token, int from, int to, float[] out, int oOff) {
    }
}
