package dev.tinyrt.quant;

import dev.tinyrt.io.DType;

/**
 * SmoothQuant (Xiao et al. 2023) for one linear layer, as ModelOpt computes it
 * (modelopt/torch/quantization/model_calib.py, smoothquant postprocess): activation outliers are migrated into the
 * weights with a per-input-channel factor p_j = max|W_:j|^(1-α) / max|x_j|^α (clamped to [1e-4, 1e4]; channels
 * that never activate keep 1). The activation is multiplied by p at run time (prequant_scaling_factor), the weight
 * columns are divided by it, then quantized to INT8 per output channel (amax/127) and the activation is quantized
 * to INT8 with activation_scaling_factor = max_j(max|x_j|·p_j) / 127.
 *
 * <p>Layers that read the same activation may share one p, computed from the largest |W_:j| over all of them (as
 * ModelOpt re-smooths gate and up before export): TensorRT-LLM, and tinyrt's CUDA engine, fuse such layers into one
 * GEMM that quantizes its input once.
 */
public final class SmoothQuant {
    public static final float DEFAULT_ALPHA = 0.5f;

    /**
     * @param weights          INT8 values and per-row scales of W·diag(1/p)
     * @param preScale         p per input channel, rounded to the model dtype
     * @param activationScale  per-tensor static scale of the smoothed activation
     */
    public record Result(QuantizedInts weights, float[] preScale, float activationScale) {
    }

    private SmoothQuant() {
    }

    public static Result quantize(float[] w, int rows, int cols, float[] actAbsMax, float alpha, DType dtype) {
        return quantize(w, rows, cols, actAbsMax, alpha, dtype, columnAbsMax(w, rows, cols, null));
    }

    /**
     * As {@link #quantize(float[], int, int, float[], float, DType)} with the weight's column maxima {@code wMax}
     * given: those of a group of layers sharing the input ({@link #columnAbsMax}), so they share one pre-scale.
     */
    public static Result quantize(float[] w, int rows, int cols, float[] actAbsMax, float alpha, DType dtype,
                                  float[] wMax) {
        if (wMax.length != cols) {
            throw new IllegalArgumentException("column maxima of length " + wMax.length + " for " + cols + " columns");
        }
        float[] p = new float[cols];
        float smoothedMax = 0;
        for (int c = 0; c < cols; c++) {
            double scale = actAbsMax[c] <= 0x1p-31
                    ? 1.0 : Math.pow(wMax[c], 1 - alpha) / Math.pow(actAbsMax[c], alpha);
            scale = Math.min(1e4, Math.max(1e-4, scale));
            p[c] = ScaleStorage.roundTo(dtype, (float) scale);
            smoothedMax = Math.max(smoothedMax, actAbsMax[c] * p[c]);
        }
        QuantizedInts q = IntQuantizer.quantize(AwqSearch.scaleColumns(w, cols, p, true), rows, cols, cols,
                IntScheme.MODELOPT_INT8, DType.F32);
        return new Result(q, p, smoothedMax > 0 ? smoothedMax / 127f : 1f);
    }

    /** max_r |W_rc| per column c of {@code w [rows, cols]}, folded into {@code into} when it is not null. */
    public static float[] columnAbsMax(float[] w, int rows, int cols, float[] into) {
        float[] wMax = into != null ? into : new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                wMax[c] = Math.max(wMax[c], Math.abs(w[r * cols + c]));
            }
        }
        return wMax;
    }
}
