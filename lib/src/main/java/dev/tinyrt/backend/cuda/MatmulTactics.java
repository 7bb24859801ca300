package dev.tinyrt.backend.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Per-shape choice between tinyrt's GEMV kernels and cuBLAS for {@code out[n, m] = x[n, k] · w[m, k]ᵀ} — the seed of
 * TensorRT-style tactic selection. The first time a shape runs eagerly both candidates are timed on the real
 * buffers (when autotuning is on) and the faster one is kept; otherwise the rule is GEMV wherever it applies
 * (up to {@value KernelNames#MAX_GEMV_ROWS} rows), cuBLAS elsewhere.
 */
final class MatmulTactics {
    enum Tactic { GEMV, CUBLAS }

    /**
     * {@code swiglu}: the gate|up product ({@code 2 * m} weight rows) with SwiGLU applied to its output, giving
     * {@code [n, m]} (fused into the GEMV's epilogue; cuBLAS runs the product, then the SwiGLU kernel).
     */
    record Shape(int n, int m, int k, boolean fp32Out, boolean swiglu) {
    }

    /** Microsecond timings are NaN when not measured. */
    record Choice(Shape shape, Tactic tactic, double gemvMicros, double cublasMicros, boolean measured) {
    }

    private final Map<Shape, Choice> choices = new LinkedHashMap<>();
    private boolean autotune;

    MatmulTactics(boolean autotune) {
        this.autotune = autotune;
    }

    static boolean gemvApplies(Shape s) {
        return s.n() >= 1 && s.n() <= KernelNames.MAX_GEMV_ROWS && s.k() % 8 == 0;
    }

    /**
     * @param mayMeasure false while a graph is being recorded (nothing may be timed or synchronized then)
     * @param timeMicros runs the product with a tactic and returns its time in microseconds
     */
    Tactic choose(Shape shape, boolean mayMeasure, ToDoubleFunction<Tactic> timeMicros) {
        Choice known = choices.get(shape);
        if (known != null) {
            return known.tactic();
        }
        Choice c;
        if (!gemvApplies(shape)) {
            c = new Choice(shape, Tactic.CUBLAS, Double.NaN, Double.NaN, false);
        } else if (autotune && mayMeasure) {
            double gemv = timeMicros.applyAsDouble(Tactic.GEMV);
            double cublas = timeMicros.applyAsDouble(Tactic.CUBLAS);
            c = new Choice(shape, gemv <= cublas ? Tactic.GEMV : Tactic.CUBLAS, gemv, cublas, true);
        } else {
            c = new Choice(shape, Tactic.GEMV, Double.NaN, Double.NaN, false);
        }
        choices.put(shape, c);
        return c.tactic();
    }

    /** Forces a tactic for a shape (benchmarks compare both). */
    void force(Shape shape, Tactic tactic) {
        choices.put(shape, new Choice(shape, tactic, Double.NaN, Double.NaN, false));
    }

    void setAutotune(boolean on) {
        autotune = on;
    }

    void clear() {
        choices.clear();
    }

    List<Choice> table() {
        return new ArrayList<>(choices.values());
    }
}
