package dev.tinyrt.engine;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU engine against HuggingFace transformers 5.17 (fp32, eager, CPU) on checkpoints that differ in every
 * axis: MHA vs GQA, tied vs untied, fp16 vs bf16 storage, transformers 4.x vs 5.x config spelling, implied vs
 * explicit head_dim, and the trained tinyrt-12m model. References were written on the GPU machine by
 * environment/hf_reference.py (run by environment/gpu/foundation.sh and the training run) and are committed.
 */
class HfParityTest {
    private static final Path PARITY = Path.of("src/test/resources/parity");
    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "mha-untied-fp16-hf4, src/test/resources/parity/mha-untied-fp16-hf4, 4",
            "gqa-tied-bf16-hf5, src/test/resources/parity/gqa-tied-bf16-hf5, 4",
            "tinyrt-12m, ../data/models/tinyrt-12m, 5"})
    void logitsAndGreedyContinuationsMatchTransformers(String name, Path model, int prompts) {
        try (LoadedModel m = LoadedModel.open(model, new LoadedModel.Options("cpu", StoragePrecision.FP32, 0))) {
            ParityCheck.Report report = ParityCheck.run(m, PARITY.resolve("refs").resolve(name + ".safetensors"));
            assertEquals(prompts, report.prompts().size());
            for (ParityCheck.PromptResult r : report.prompts()) {
                assertTrue(r.relativeError() <= TOLERANCE, name + " prompt " + r.index() + ": relative error "
                        + r.relativeError());
                assertEquals(24, r.expectedGreedy().length);
                assertTrue(r.greedyMatches(), name + " prompt " + r.index() + ": greedy "
                        + java.util.Arrays.toString(r.actualGreedy()) + " vs HF "
                        + java.util.Arrays.toString(r.expectedGreedy()));
            }
        }
    }

    /** The check is not vacuous: tinyrt-12m's references fail against a random model with the same vocabulary. */
    @Test
    void aDifferentModelFailsTheCheck(@TempDir Path tmp) {
        Path other = tmp.resolve("random");
        RandomCheckpoint.write(RandomCheckpoint.preset("tiny"), new RandomCheckpoint.Options(1, DType.F16, 0.1, 0.1,
                LlamaConfig.Spelling.HF4, null), other);
        try (LoadedModel m = LoadedModel.open(other, LoadedModel.Options.defaults())) {
            ParityCheck.Report report = ParityCheck.run(m, PARITY.resolve("refs/tinyrt-12m.safetensors"));
            assertTrue(report.worstRelativeError() > 0.01, "error " + report.worstRelativeError());
            assertFalse(report.allGreedyMatch());
            assertFalse(report.passed(TOLERANCE));
        }
    }

    @Test
    void aFileWithoutPromptsIsRejected() {
        try (LoadedModel m = LoadedModel.open(PARITY.resolve("mha-untied-fp16-hf4"), LoadedModel.Options.defaults())) {
            assertThrows(TinyrtException.class,
                    () -> ParityCheck.run(m, PARITY.resolve("mha-untied-fp16-hf4/model.safetensors")));
        }
    }
}
