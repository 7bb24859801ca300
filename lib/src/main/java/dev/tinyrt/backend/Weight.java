package dev.tinyrt.backend;

/** A weight owned by a backend, in the backend's storage format. Matrices are {@code [rows=out, cols=in]}. */
public interface Weight {
    int rows();

    int cols();

    /** Bytes this weight occupies in the backend's memory (0 for zero-copy views of a mapped file on the CPU). */
    long ownedBytes();

    /** Storage format, e.g. "F16" or "W8A16", for reports. */
    String format();
}
