package dev.tinyrt.quant;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.WeightLayout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Test helper: presents any layout's weights as Dense fp32 — quantized forms dequantized with their pre-quant scale
 * folded in — so the plain CPU engine can run a quantized checkpoint's weights without quantized kernels.
 */
public final class DequantizedLayout implements WeightLayout {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final WeightLayout inner;
    private final Arena arena = Arena.ofAuto();

    public DequantizedLayout(WeightLayout inner) {
        this.inner = inner;
    }

    private WeightData dense(WeightData d) {
        if (d == null || d instanceof WeightData.Dense) {
            return d;
        }
        float[] w = WeightDecoder.effective(d);
        MemorySegment s = arena.allocate(4L * w.length, 64);
        MemorySegment.copy(w, 0, s, F32, 0, w.length);
        return new WeightData.Dense(d.name(), DType.F32, d.rows(), d.cols(), s);
    }

    @Override
    public WeightData embedding() {
        return dense(inner.embedding());
    }

    @Override
    public WeightData lmHead() {
        return dense(inner.lmHead());
    }

    @Override
    public WeightData finalNorm() {
        return dense(inner.finalNorm());
    }

    @Override
    public WeightData inputNorm(int layer) {
        return dense(inner.inputNorm(layer));
    }

    @Override
    public WeightData postAttentionNorm(int layer) {
        return dense(inner.postAttentionNorm(layer));
    }

    @Override
    public List<WeightData> qkv(int layer) {
        return inner.qkv(layer).stream().map(this::dense).toList();
    }

    @Override
    public WeightData attentionOut(int layer) {
        return dense(inner.attentionOut(layer));
    }

    @Override
    public List<WeightData> gateUp(int layer) {
        return inner.gateUp(layer).stream().map(this::dense).toList();
    }

    @Override
    public WeightData down(int layer) {
        return dense(inner.down(layer));
    }
}
