package dev.tinyrt.quant;

import java.util.ArrayList;
import java.util.List;

/**
 * What calibration learned about the input of one linear layer: per-channel maximum and mean of |x| over every
 * token seen, and an evenly spread, deterministic sample of whole input rows (for AWQ's output-error search).
 */
public final class ActivationStats {
    private final int cols;
    private final float[] absMax;
    private final double[] absSum;
    private final int keepEvery;
    private final int keepAtMost;
    private final List<float[]> kept = new ArrayList<>();
    private long rowsSeen;

    /**
     * @param keepEvery  keep every n-th row seen (odd, so the kept positions walk through all sequence offsets)
     * @param keepAtMost cap on kept rows (0 keeps none)
     */
    public ActivationStats(int cols, int keepEvery, int keepAtMost) {
        this.cols = cols;
        this.absMax = new float[cols];
        this.absSum = new double[cols];
        this.keepEvery = Math.max(1, keepEvery);
        this.keepAtMost = keepAtMost;
    }

    /** Spacing that spreads {@code keep} rows over {@code total}; odd so it is coprime with power-of-two lengths. */
    public static int strideFor(long total, int keep) {
        if (keep <= 0 || total <= keep) {
            return 1;
        }
        long stride = (total + keep - 1) / keep;
        if (stride % 2 == 0) {
            stride++;
        }
        return (int) Math.min(Integer.MAX_VALUE, stride);
    }

    public synchronized void add(float[][] rows) {
        for (float[] row : rows) {
            if (row.length != cols) {
                throw new IllegalArgumentException("row of " + row.length + " values for " + cols + " channels");
            }
            for (int c = 0; c < cols; c++) {
                float a = Math.abs(row[c]);
                if (a > absMax[c]) {
                    absMax[c] = a;
                }
                absSum[c] += a;
            }
            if (rowsSeen % keepEvery == 0 && kept.size() < keepAtMost) {
                kept.add(row.clone());
            }
            rowsSeen++;
        }
    }

    public int cols() {
        return cols;
    }

    public long rowsSeen() {
        return rowsSeen;
    }

    /** max |x| per input channel. */
    public float[] absMax() {
        return absMax.clone();
    }

    /** max |x| over all channels (a per-tensor activation amax). */
    public float tensorAbsMax() {
        float m = 0;
        for (float v : absMax) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** mean |x| per input channel, AWQ's activation salience. */
    public float[] meanAbs() {
        float[] mean = new float[cols];
        for (int c = 0; c < cols; c++) {
            mean[c] = rowsSeen == 0 ? 0 : (float) (absSum[c] / rowsSeen);
        }
        return mean;
    }

    /** The kept rows {@code [n][cols]}. */
    public float[][] sampledRows() {
        return kept.toArray(new float[0][]);
    }
}
