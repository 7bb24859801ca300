package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a --precision becomes something the engine opens, including the converter plug-in for quantized ones. */
class ModelPreparationTest {
    @TempDir Path tmp;

    @Test
    void storagePrecisionsLoadTheCheckpointAsIs() {
        Path model = tmp.resolve("m");
        var p = ModelPreparation.prepare(model, null, "BF16", "cpu", 2);
        assertEquals(model, p.dir());
        assertEquals(StoragePrecision.BF16, p.options().precision());
        assertEquals("bf16", p.precision());
        assertEquals("int4_awq", ModelPreparation.normalize("INT4-AWQ"));
        assertThrows(TinyrtException.class, () -> ModelPreparation.normalize("fp12"));
    }

    @Test
    void quantizedPrecisionsConvertOnceIntoTheCacheThenLoad() throws IOException {
        Path model = TestCheckpoints.write(TestCheckpoints.gqa(), DType.F16, 1, tmp.resolve("tiny"));
        Path configs = Files.createDirectories(tmp.resolve("configs"));
        Files.writeString(configs.resolve("tinyllama_int8.yaml"), "quantization:\n  algorithm: W8A16\n");
        AtomicInteger conversions = new AtomicInteger();
        // stands in for the real converter: copies the checkpoint, which today's engine can open
        CheckpointConverter copy = (hf, config, out) -> {
            conversions.incrementAndGet();
            assertTrue(config.getFileName().toString().equals("tinyllama_int8.yaml"));
            try (var files = Files.list(hf)) {
                for (Path f : files.toList()) {
                    Files.copy(f, out.resolve(f.getFileName()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
        Path engines = tmp.resolve("engines");
        var first = ModelPreparation.prepare(model, null, "int8", "cpu", 1, Optional.of(copy), configs, engines);
        var second = ModelPreparation.prepare(model, null, "int8", "cpu", 1, Optional.of(copy), configs, engines);
        assertEquals(1, conversions.get(), "the converted checkpoint is cached");
        assertEquals(engines, first.dir().getParent());
        assertTrue(first.dir().getFileName().toString().matches("tiny-int8-[0-9a-f]{8}"), first.dir().toString());
        assertEquals(first, second);
        try (LoadedModel m = ModelPreparation.open(first)) {
            assertEquals(2, m.config().numLayers());
        }
    }

    @Test
    void quantizedPrecisionsWithoutConverterOrLoadableOutputAreNotAvailableYet() throws IOException {
        Path model = tmp.resolve("m");
        Path configs = Files.createDirectories(tmp.resolve("configs"));
        Files.writeString(configs.resolve("tinyllama_fp8.yaml"), "x: 1\n");
        var e = assertThrows(TinyrtException.class, () -> ModelPreparation.prepare(model, null, "fp8", "cpu", 1,
                Optional.empty(), configs, tmp.resolve("engines")));
        assertTrue(e.getMessage().startsWith("--precision fp8 is not available yet"), e.getMessage());
        // a converter whose output the engine cannot open (a TensorRT-LLM checkpoint, today)
        CheckpointConverter trtllm = (hf, config, out) -> {
            try {
                Files.writeString(out.resolve("config.json"), "{\"architecture\": \"LlamaForCausalLM\"}");
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        };
        var prepared = ModelPreparation.prepare(model, null, "fp8", "cpu", 1, Optional.of(trtllm), configs,
                tmp.resolve("engines"));
        e = assertThrows(TinyrtException.class, () -> ModelPreparation.open(prepared));
        assertTrue(e.getMessage().startsWith("--precision fp8 is not available yet: the cpu engine cannot run"),
                e.getMessage());
    }
}
