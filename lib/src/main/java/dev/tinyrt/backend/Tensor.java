package dev.tinyrt.backend;

/**
 * A 2-D activation buffer {@code [rows, cols]} owned by a backend (fp32 on the CPU; fp16, or fp32 for
 * {@link Backend#wideTensor}, on CUDA). {@link #rows(int)} gives a view of the
 * first rows, so buffers can be sized once for the largest step and reused.
 */
public interface Tensor {
    int rows();

    int cols();

    Tensor rows(int n);
}
