package dev.tinyrt.backend;

/**
 * Precomputed NeoX-style rotary embedding tables, computed the way HF transformers does (fp32 inverse
 * frequencies, fp32 position × frequency product) so logits match it closely.
 */
public final class RopeTable {
    private final int headDim;
    private final int maxPositions;
    private final float[] cos;
    private final float[] sin;

    public RopeTable(int headDim, int maxPositions, double theta) {
        this.headDim = headDim;
        this.maxPositions = maxPositions;
        int half = headDim / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(theta, (2.0 * i) / headDim));
        }
        cos = new float[maxPositions * half];
        sin = new float[maxPositions * half];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }

    public int headDim() {
        return headDim;
    }

    public int maxPositions() {
        return maxPositions;
    }

    /** cos table {@code [maxPositions, headDim/2]}. */
    public float[] cos() {
        return cos;
    }

    public float[] sin() {
        return sin;
    }
}
