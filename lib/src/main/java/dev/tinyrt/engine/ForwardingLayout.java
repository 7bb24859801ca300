package dev.tinyrt.engine;

import dev.tinyrt.backend.WeightData;
import dev.tinyrt.model.WeightLayout;

import java.util.List;

/** A {@link WeightLayout} that passes every weight on from another one; subclasses override what differs. */
class ForwardingLayout implements WeightLayout {
    private final WeightLayout inner;

    ForwardingLayout(WeightLayout inner) {
        this.inner = inner;
    }

    @Override
    public WeightData embedding() {
        return inner.embedding();
    }

    @Override
    public WeightData lmHead() {
        return inner.lmHead();
    }

    @Override
    public WeightData finalNorm() {
        return inner.finalNorm();
    }

    @Override
    public WeightData inputNorm(int layer) {
        return inner.inputNorm(layer);
    }

    @Override
    public WeightData postAttentionNorm(int layer) {
        return inner.postAttentionNorm(layer);
    }

    @Override
    public List<WeightData> qkv(int layer) {
        return inner.qkv(layer);
    }

    @Override
    public WeightData attentionOut(int layer) {
        return inner.attentionOut(layer);
    }

    @Override
    public List<WeightData> gateUp(int layer) {
        return inner.gateUp(layer);
    }

    @Override
    public WeightData down(int layer) {
        return inner.down(layer);
    }
}
