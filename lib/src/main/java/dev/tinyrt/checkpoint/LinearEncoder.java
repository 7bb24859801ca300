package dev.tinyrt.checkpoint;

import dev.tinyrt.io.DType;
import dev.tinyrt.io.SafetensorsWriter;
import dev.tinyrt.quant.ActivationStats;
import dev.tinyrt.quant.AwqSearch;
import dev.tinyrt.quant.Fp8Matrix;
import dev.tinyrt.quant.Gram;
import dev.tinyrt.quant.IntQuantizer;
import dev.tinyrt.quant.IntScheme;
import dev.tinyrt.quant.QuantizedInts;
import dev.tinyrt.quant.SmoothQuant;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Writes one linear layer's tensors in TensorRT-LLM's layout for the checkpoint's algorithm (names are
 * {@code <module>.weight} and its scale tensors):
 * <pre>
 * none                 weight [out, in] dtype
 * W8A16                weight int8 [in, out], per_channel_scale [out] dtype (amax/128)
 * W4A16                weight int8 [in, out/2] (int4 pairs of output channels), per_channel_scale [out] (amax/8)
 * W4A16_AWQ            weight int8 [out/2, in] (int4 pairs of output rows), weights_scaling_factor [out, in/group]
 *                      dtype (amax/7), prequant_scaling_factor [in] dtype (1/s of AWQ; ones for round-to-nearest)
 * W8A8_SQ_PER_CHANNEL  weight int8 [out, in], weights_scaling_factor [out] f32, activation_scaling_factor [1] f32,
 *                      prequant_scaling_factor [in] dtype
 * FP8                  weight e4m3 [out, in], weights_scaling_factor [1] f32, activation_scaling_factor [1] f32
 * </pre>
 * With float weights (W8A16 and per-channel W4A16 only), the weight stays [out, in] in the dtype and no scale is
 * written: trtllm-build quantizes it.
 */
final class LinearEncoder {
    private final TrtllmConfig.Quantization quant;
    private final DType dtype;
    private final SafetensorsWriter writer;
    private final boolean awqSearch;
    private final int awqGrid;
    private final boolean awqClip;
    private final float smoothquantAlpha;
    private final boolean floatWeights;

    /**
     * @param awqSearch search AWQ scales (otherwise group-wise INT4 is plain round-to-nearest with unit prescales)
     */
    LinearEncoder(TrtllmConfig.Quantization quant, DType dtype, SafetensorsWriter writer, boolean awqSearch,
                  int awqGrid, boolean awqClip, float smoothquantAlpha, boolean floatWeights) {
        this.quant = quant;
        this.dtype = dtype;
        this.writer = writer;
        this.awqSearch = awqSearch;
        this.awqGrid = awqGrid;
        this.awqClip = awqClip;
        this.smoothquantAlpha = smoothquantAlpha;
        this.floatWeights = floatWeights;
    }

    /**
     * @param w      weight values {@code [rows, cols]} already rounded to the checkpoint dtype
     * @param input  calibration statistics of the layer's input (null when the algorithm needs none)
     * @param gram   second moments of the sampled input rows (only called for AWQ)
     * @param sharedColumnMax SmoothQuant: max |W_:j| over all layers reading this input, so they share one
     *                        pre-scale (null: this weight's own)
     * @return the AWQ search result, or null for other algorithms
     */
    AwqSearch.Result encode(String module, float[] w, int rows, int cols, ActivationStats input, Supplier<Gram> gram,
                            float[] sharedColumnMax) {
        String weight = module + ".weight";
        if (floatWeights) {
            // trtllm-build quantizes float W8A16/W4A16 weights itself (convert_utils.py weight_only_quantize_dict)
            writer.add(weight, dtype, shape(rows, cols), TrtllmConverter.encode(w, dtype));
            return null;
        }
        switch (quant.algo()) {
            case NONE -> writer.add(weight, dtype, shape(rows, cols), TrtllmConverter.encode(w, dtype));
            case W8A16 -> {
                QuantizedInts q = IntQuantizer.quantize(w, rows, cols, cols, IntScheme.TRTLLM_INT8, dtype);
                bytes(weight, shape(cols, rows), Int4Packing.transpose(q.values(), rows, cols));
                writer.addFloats(module + ".per_channel_scale", dtype, shape(rows), q.scales());
            }
            case W4A16 -> {
                QuantizedInts q = IntQuantizer.quantize(w, rows, cols, cols, IntScheme.TRTLLM_INT4, dtype);
                bytes(weight, shape(cols, rows / 2), Int4Packing.packTransposed(q.values(), rows, cols));
                writer.addFloats(module + ".per_channel_scale", dtype, shape(rows), q.scales());
            }
            case W4A16_AWQ -> {
                int g = quant.groupSize();
                AwqSearch.Result awq = null;
                QuantizedInts q;
                float[] preScale;
                if (awqSearch) {
                    awq = AwqSearch.search(w, rows, cols, g, input.meanAbs(), gram.get(), awqGrid, awqClip, dtype);
                    q = awq.weights();
                    preScale = awq.preScale();
                } else {
                    q = IntQuantizer.quantize(w, rows, cols, g, IntScheme.MODELOPT_INT4, dtype);
                    preScale = new float[cols];
                    Arrays.fill(preScale, 1f);
                }
                bytes(weight, shape(rows / 2, cols), Int4Packing.packRowPairs(q.values(), rows, cols));
                writer.addFloats(module + ".weights_scaling_factor", dtype, shape(rows, cols / g), q.scales());
                writer.addFloats(module + ".prequant_scaling_factor", dtype, shape(cols), preScale);
                return awq;
            }
            case W8A8_SQ_PER_CHANNEL -> {
                SmoothQuant.Result sq = SmoothQuant.quantize(w, rows, cols, input.absMax(), smoothquantAlpha, dtype,
                        sharedColumnMax != null ? sharedColumnMax : SmoothQuant.columnAbsMax(w, rows, cols, null));
                bytes(weight, shape(rows, cols), sq.weights().values());
                writer.addFloats(module + ".weights_scaling_factor", DType.F32, shape(rows), sq.weights().scales());
                writer.addFloats(module + ".activation_scaling_factor", DType.F32, shape(1),
                        new float[]{sq.activationScale()});
                writer.addFloats(module + ".prequant_scaling_factor", dtype, shape(cols), sq.preScale());
            }
            case FP8 -> {
                Fp8Matrix f = Fp8Matrix.quantize(w, rows, cols);
                writer.add(weight, DType.F8_E4M3, shape(rows, cols), MemorySegment.ofArray(f.values()));
                writer.addFloats(module + ".weights_scaling_factor", DType.F32, shape(1), new float[]{f.scale()});
                writer.addFloats(module + ".activation_scaling_factor", DType.F32, shape(1),
                        new float[]{Fp8Matrix.activationScale(input.tensorAbsMax())});
            }
        }
        return null;
    }

    private void bytes(String name, long[] shape, byte[] values) {
        writer.add(name, DType.I8, shape, MemorySegment.ofArray(values));
    }

    static long[] shape(long... dims) {
        return dims;
    }
}
