package dev.tinyrt.model;

/**
 * Sees the input of every linear layer during a forward pass (calibration for AWQ, SmoothQuant and FP8 scales).
 * Observing copies activations to the host, so it is only for calibration runs, never for serving.
 */
@FunctionalInterface
public interface ActivationObserver {
    /** The linear layers of a Llama block (and the output head), named as TensorRT-LLM names them. */
    enum Linear { QKV, DENSE, GATE_UP, DOWN, LM_HEAD }

    /**
     * @param layer decoder layer index ({@code -1} for the LM head)
     * @param rows  the input rows {@code [tokens][in]} of that linear layer in this step
     */
    void onLinearInput(int layer, Linear linear, float[][] rows);
}
