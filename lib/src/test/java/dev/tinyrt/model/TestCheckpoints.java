package dev.tinyrt.model;

import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.io.DType;

import java.nio.file.Path;
import java.util.List;

/** Small random checkpoints for tests, one per shape variant. */
public final class TestCheckpoints {
    private TestCheckpoints() {
    }

    /** GQA, untied, explicit head_dim differing from hidden/heads, odd vocab. */
    public static LlamaConfig gqa() {
        return new LlamaConfig(301, 48, 80, 2, 6, 2, 10, 128, 1e-5f, 10000.0, false, "float16", 1, List.of(2));
    }

    /** MHA, tied embeddings, large rope theta. */
    public static LlamaConfig mhaTied() {
        return new LlamaConfig(257, 64, 96, 3, 4, 4, 16, 160, 1e-6f, 500000.0, true, "bfloat16", 1, List.of(2));
    }

    public static Path write(LlamaConfig config, DType dtype, long seed, Path dir) {
        RandomCheckpoint.write(config, new RandomCheckpoint.Options(seed, dtype, 0.15, 0.2, LlamaConfig.Spelling.HF4,
                null), dir);
        return dir;
    }
}
