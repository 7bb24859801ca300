package dev.tinyrt.quant;

/** How a scaled weight is rounded to an integer; the two reference implementations differ on ties. */
public enum Rounding {
    /**
     * C++ {@code round()}: ties away from zero. TensorRT-LLM's weight-only quantizer uses it
     * (cpp/tensorrt_llm/kernels/cutlass_kernels/cutlass_preprocessors.cpp, symmetric_quantize).
     */
    HALF_AWAY_FROM_ZERO,
    /** {@code torch.round}: ties to even. ModelOpt's exporters use it (modelopt/torch/export/quant_utils.py). */
    HALF_EVEN;

    public float round(float x) {
        return switch (this) {
            case HALF_AWAY_FROM_ZERO -> (float) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
            case HALF_EVEN -> (float) Math.rint(x);
        };
    }
}
