package dev.tinyrt.memory;

import dev.tinyrt.backend.Backend;

/**
 * Element sizes of a backend's activation buffers: {@code Backend.tensor} ({@code narrow}) and
 * {@code Backend.wideTensor} ({@code wide}: the residual stream and the logits). The CPU backend keeps both in fp32;
 * the CUDA backend keeps activations in fp16 and the wide buffers in fp32.
 */
public record ActivationBytes(int narrow, int wide) {
    public static final ActivationBytes FP32 = new ActivationBytes(4, 4);

    public static ActivationBytes of(Backend backend) {
        return backend.name().equals("cuda") ? new ActivationBytes(2, 4) : FP32;
    }
}
