package dev.tinyrt.bench;

import java.nio.file.Path;

/**
 * Converts a HuggingFace checkpoint into a quantized TensorRT-LLM checkpoint directory as a build config
 * (configs/tinyllama_PRECISION.yaml) describes. The benchmark finds the implementation through
 * {@link java.util.ServiceLoader}: the converter registers itself in
 * {@code META-INF/services/dev.tinyrt.bench.CheckpointConverter}. Until one is registered, quantized precisions
 * report that they are not available yet.
 */
public interface CheckpointConverter {
    /**
     * @param hfModel     HuggingFace checkpoint directory
     * @param buildConfig the YAML build/quantization config
     * @param outDir      empty directory to write config.json and rank0.safetensors into
     */
    void convert(Path hfModel, Path buildConfig, Path outDir);
}
