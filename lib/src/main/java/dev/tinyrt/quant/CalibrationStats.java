package dev.tinyrt.quant;

import dev.tinyrt.model.ActivationObserver;

import java.util.Map;

/**
 * Everything calibration measured: statistics of every linear layer's input and, when asked for, the largest
 * |key| or |value| each layer writes to its KV cache (keys after RoPE, as they are stored).
 *
 * @param kvAmax per layer, or {@code null} when KV-cache amax was not collected
 */
public record CalibrationStats(int samples, int seqLen, Map<LinearInput, ActivationStats> inputs, float[] kvAmax) {

    public ActivationStats input(int layer, ActivationObserver.Linear linear) {
        ActivationStats s = inputs.get(new LinearInput(layer, linear));
        if (s == null) {
            throw new IllegalStateException("no calibration statistics for layer " + layer + " " + linear);
        }
        return s;
    }
}
