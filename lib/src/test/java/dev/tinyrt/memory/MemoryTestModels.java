package dev.tinyrt.memory;

import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.TestCheckpoints;

import java.nio.file.Path;
import java.util.List;

/** Small random checkpoints whose widths are multiples of 128, so every weight precision applies (INT4 groups). */
final class MemoryTestModels {
    private MemoryTestModels() {
    }

    /** GQA 4/2, head_dim 32, untied, 2 layers, a 128-token context. */
    static LlamaConfig small() {
        return new LlamaConfig(1024, 128, 256, 2, 4, 2, 32, 128, 1e-5f, 10000.0, false, "float16", 1, List.of(2));
    }

    static Path write(LlamaConfig config, Path dir) {
        return TestCheckpoints.write(config, DType.F16, 3, dir);
    }
}
