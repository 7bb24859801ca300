package dev.tinyrt.engine;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.checkpoint.TrtllmWeightLayout;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.io.TensorSource;

import java.util.List;

/**
 * The weights of an engine directory: a TensorRT-LLM checkpoint's tensors, with each layer's gate_proj and up_proj
 * re-packed into one {@code [2 * intermediate, hidden]} matrix ({@value #GATE_UP}, gate rows first) where they are
 * dense: the fused product the kernels run, uploaded as is instead of concatenated on the device at every load.
 */
final class EngineWeightLayout extends ForwardingLayout {
    static final String GATE_UP = "mlp.gate_up.weight";

    private final TensorSource source;

    EngineWeightLayout(TensorSource source, TrtllmConfig config) {
        super(new TrtllmWeightLayout(source, config));
        this.source = source;
    }

    static String gateUpName(int layer) {
        return dev.tinyrt.checkpoint.TrtllmNames.layer(layer) + GATE_UP;
    }

    @Override
    public List<WeightData> gateUp(int layer) {
        String name = gateUpName(layer);
        if (!source.contains(name)) {
            return super.gateUp(layer);
        }
        TensorInfo info = source.info(name);
        return List.of(new WeightData.Dense(name, info.dtype(), (int) info.shape()[0], (int) info.shape()[1],
                source.data(name)));
    }
}
