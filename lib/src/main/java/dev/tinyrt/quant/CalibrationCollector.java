package dev.tinyrt.quant;

import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.model.ActivationObserver;
import dev.tinyrt.model.LlamaConfig;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Observes a model during calibration prefills and accumulates {@link ActivationStats} per linear input. Each
 * forward step must be a fresh prefill of one sample starting at position 0 ({@link Calibrator} runs it so),
 * which lets the collector know every row's position for the RoPE rotation of keys.
 *
 * <p>KV-cache amax: the model reports linear inputs, not keys and values, so for each QKV input row the collector
 * projects k and v itself with the layer's float weights, rotates k as the cache stores it, and tracks max |k|, |v|.
 */
public final class CalibrationCollector implements ActivationObserver {
    /** The float k and v projection weights of one layer ({@code [kvDim, hidden]} each, row-major). */
    public record KvWeights(float[] k, float[] v) {
    }

    private final LlamaConfig config;
    private final int keepEvery;
    private final int keepAtMost;
    private final Map<LinearInput, ActivationStats> stats = new ConcurrentHashMap<>();
    private final KvWeights[] kvWeights;
    private final float[] kvAmax;
    private final RopeTable rope;

    /**
     * @param kvWeights per layer, or {@code null} to skip KV-cache amax
     */
    public CalibrationCollector(LlamaConfig config, int keepEvery, int keepAtMost, KvWeights[] kvWeights) {
        this.config = config;
        this.keepEvery = keepEvery;
        this.keepAtMost = keepAtMost;
        this.kvWeights = kvWeights;
        this.kvAmax = kvWeights == null ? null : new float[config.numLayers()];
        this.rope = kvWeights == null ? null
                : new RopeTable(config.headDim(), config.maxPositionEmbeddings(), config.ropeTheta());
    }

    @Override
    public void onLinearInput(int layer, Linear linear, float[][] rows) {
        if (linear == Linear.LM_HEAD) {
            return;  // the output head stays unquantized (exclude_modules), its input is not needed
        }
        stats.computeIfAbsent(new LinearInput(layer, linear),
                k -> new ActivationStats(rows.length == 0 ? 0 : rows[0].length, keepEvery, keepAtMost)).add(rows);
        if (linear == Linear.QKV && kvWeights != null) {
            trackKv(layer, rows);
        }
    }

    private void trackKv(int layer, float[][] rows) {
        int hidden = config.hiddenSize();
        int headDim = config.headDim();
        int half = headDim / 2;
        int heads = config.numKvHeads();
        KvWeights w = kvWeights[layer];
        float[] cos = rope.cos();
        float[] sin = rope.sin();
        float amax = kvAmax[layer];
        float[] k = new float[config.kvDim()];
        for (int pos = 0; pos < rows.length; pos++) {
            float[] x = rows[pos];
            for (int o = 0; o < k.length; o++) {
                float kv = 0;
                float vv = 0;
                int off = o * hidden;
                for (int i = 0; i < hidden; i++) {
                    kv += w.k[off + i] * x[i];
                    vv += w.v[off + i] * x[i];
                }
                k[o] = kv;
                amax = Math.max(amax, Math.abs(vv));
            }
            for (int h = 0; h < heads; h++) {
                int base = h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[pos * half + i];
                    float s = sin[pos * half + i];
                    float a = k[base + i];
                    float b = k[base + i + half];
                    amax = Math.max(amax, Math.max(Math.abs(a * c - b * s), Math.abs(b * c + a * s)));
                }
            }
        }
        kvAmax[layer] = amax;
    }

    public CalibrationStats result(int samples, int seqLen) {
        return new CalibrationStats(samples, seqLen, Map.copyOf(stats), kvAmax == null ? null : kvAmax.clone());
    }
}
