package dev.tinyrt.engine;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A TensorRT-LLM checkpoint directory is a valid model directory: same tokenizer, same tokens as the HF one. */
class TrtllmCheckpointLoadTest {
    @Test
    void fp16TrtllmCheckpointGeneratesExactlyWhatTheHfModelGenerates(@TempDir Path tmp) {
        Path home = ProjectHome.require();
        Path hf = home.resolve("data/models/tinyrt-12m");
        Path trt = tmp.resolve("trt-fp16");
        TrtllmConverter.convert(hf, BuildConfigLoader.load(home.resolve("configs/tinyllama_fp16.yaml")), null, trt);
        SamplingParams p = SamplingParams.greedy(20).withIgnoreEos(true);
        GenerationResult expected;
        try (LoadedModel m = LoadedModel.open(hf, LoadedModel.Options.defaults())) {
            expected = m.generator().generate(m.tokenizer().encode("It is a truth universally acknowledged"), p,
                    TokenListener.NONE);
        }
        try (LoadedModel m = LoadedModel.open(trt, LoadedModel.Options.defaults())) {
            assertEquals(256, m.config().hiddenSize());
            GenerationResult actual = m.generator().generate(
                    m.requireTokenizer().encode("It is a truth universally acknowledged"), p, TokenListener.NONE);
            assertArrayEquals(expected.outputIds(), actual.outputIds());
            assertEquals(expected.text(), actual.text());
        }
    }
}
