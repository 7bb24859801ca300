package dev.tinyrt.checkpoint;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.TensorSource;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An opened TensorRT-LLM checkpoint directory: its config, its mapped {@code rank0.safetensors} and the
 * {@link TrtllmWeightLayout} over them. Close it to unmap the file (weights handed out before become invalid).
 */
public record TrtllmCheckpoint(Path directory, TrtllmConfig config, TensorSource source, TrtllmWeightLayout layout)
        implements AutoCloseable {

    public static TrtllmCheckpoint open(Path directory) {
        TrtllmConfig config = TrtllmConfig.read(directory);
        Path weights = directory.resolve(TrtllmConfig.WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new TinyrtException("not a single-rank TensorRT-LLM checkpoint: " + weights + " not found");
        }
        TensorSource source = SafetensorsFile.open(weights);
        return new TrtllmCheckpoint(directory, config, source, new TrtllmWeightLayout(source, config));
    }

    @Override
    public void close() {
        source.close();
    }
}
