package dev.tinyrt.backend.cuda;

/**
 * One GEMM shape's kernel choice as an engine stores it ({@code out[n, m] = x[n, k] · w[m, k]ᵀ}; {@code swiglu}:
 * the gate|up product with SwiGLU fused): the chosen tactic ("GEMV" or "CUBLAS") and the measured candidates in
 * microseconds (NaN when the choice came from the rule, not a measurement).
 */
public record TacticRecord(int n, int m, int k, boolean fp32Out, boolean swiglu, String tactic, double gemvMicros,
                           double cublasMicros, boolean measured) {
}
