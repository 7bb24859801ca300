package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.Weight;

/**
 * A weight the CPU kernels can use: row-wise dot products (decode: each weight byte is read once, widened in
 * registers) and row widening into a fp32 scratch row (prefill: widen once, dot with every token).
 */
interface CpuWeight extends Weight {
    /** Dot product of row {@code row} with {@code x[xOff .. xOff + cols)}. */
    float dot(int row, float[] x, int xOff);

    /** Writes row {@code row} as fp32 into {@code dst[dOff .. dOff + cols)}. */
    void row(int row, float[] dst, int dOff);
}
