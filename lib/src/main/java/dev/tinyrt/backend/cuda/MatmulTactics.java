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
     * {@code format}: the weight's ({@link CudaWeight.Format#label}); for a quantized weight the cuBLAS tactic
     * first dequantizes it to fp16.
     */
    record Shape(int n, int m, int k, boolean fp32Out, boolean swiglu, String format) {
        /** An fp16 weight. */
        Shape(int n, int m, int k, boolean fp32Out, boolean swiglu) {
            this(n, m, k, fp32Out, swiglu, "F16");
        }
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
        } else if (!shape.format().equals("F16")) {
            // a quantized weight's cuBLAS tactic dequantizes the whole weight on every call (its bytes read, twice
            // as many written and read again): back-to-back timing of one weight finds all of that in L2 and
            // picked it for the 2048x2048 int8/int4 o_proj on the H100 (347 us a step instead of ~150)
            c = new Choice(shape, Tactic.GEMV, Double.NaN, Double.NaN, false);
        } else if (autotune && mayMeasure) {
            double gemv = timeMicros.applyAsDouble(Tactic.GEMV);
            double cublas = timeMicros.applyAsDouble(Tactic.CUBLAS);
            c = new Choice(shape, gemv <= cublas + fusionCredit(shape) ? Tactic.GEMV : Tactic.CUBLAS, gemv, cublas,
                    true);
        } else {
            c = new Choice(shape, Tactic.GEMV, Double.NaN, Double.NaN, false);
        }
        choices.put(shape, c);
        return c.tactic();
    }

    /**
     * Microseconds the GEMV may lose by and still be chosen: at one row with an fp16 output it can take the
     * residual add + RMSNorm of its block boundary into its epilogue (CudaBackend), saving that kernel, whose share
     * of a decode step was about 4.9 us per call on the H100 profile of 9cbb196 (incl. its gap); a third of that
     * is credited, as graphs with PDL hide part of the gap.
     */
    static double fusionCredit(Shape s) {
        return s.n() == 1 && !s.fp32Out() && !s.swiglu() ? 1.5 : 0;
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
