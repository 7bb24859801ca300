package dev.tinyrt.checkpoint;

import dev.tinyrt.model.LlamaConfig;

/** Optional changes to a preset's shape; {@code null} keeps the preset's value. */
public record ConfigOverrides(Integer vocabSize, Integer hiddenSize, Integer intermediateSize, Integer numLayers,
                              Integer numHeads, Integer numKvHeads, Integer headDim, Integer maxPositions,
                              Double ropeTheta, Float rmsNormEps, Boolean tieWordEmbeddings) {

    public LlamaConfig apply(LlamaConfig c) {
        int heads = or(numHeads, c.numHeads());
        int hidden = or(hiddenSize, c.hiddenSize());
        // a changed width or head count re-derives head_dim unless it is given explicitly
        int derivedHeadDim = (hiddenSize != null || numHeads != null) ? hidden / heads : c.headDim();
        return new LlamaConfig(or(vocabSize, c.vocabSize()), hidden, or(intermediateSize, c.intermediateSize()),
                or(numLayers, c.numLayers()), heads, or(numKvHeads, c.numKvHeads()), or(headDim, derivedHeadDim),
                or(maxPositions, c.maxPositionEmbeddings()), or(rmsNormEps, c.rmsNormEps()),
                or(ropeTheta, c.ropeTheta()), or(tieWordEmbeddings, c.tieWordEmbeddings()), c.torchDtype(),
                c.bosTokenId(), c.eosTokenIds());
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
