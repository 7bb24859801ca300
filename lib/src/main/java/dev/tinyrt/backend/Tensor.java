package dev.tinyrt.backend;

/**
 * A 2-D fp32 activation buffer {@code [rows, cols]} owned by a backend. {@link #rows(int)} gives a view of the
 * first rows, so buffers can be sized once for the largest step and reused.
 */
public interface Tensor {
    int rows();

    int cols();

    Tensor rows(int n);
}
