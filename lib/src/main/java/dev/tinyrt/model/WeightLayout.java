package dev.tinyrt.model;

import dev.tinyrt.backend.WeightData;

import java.util.List;

/**
 * Where a checkpoint keeps each logical Llama weight. HF checkpoints keep q, k, v separately; TensorRT-LLM
 * checkpoints keep them fused. Matrices come back as {@code [out, in]}.
 */
public interface WeightLayout {
    WeightData embedding();

    /** The output projection, or {@code null} when it is tied to the embedding. */
    WeightData lmHead();

    WeightData finalNorm();

    WeightData inputNorm(int layer);

    WeightData postAttentionNorm(int layer);

    /** q, k and v projections in that order: one fused matrix or three. */
    List<WeightData> qkv(int layer);

    WeightData attentionOut(int layer);

    /** gate_proj (the SiLU input) and up_proj in that order: one fused matrix or two. */
    List<WeightData> gateUp(int layer);

    WeightData down(int layer);
}
