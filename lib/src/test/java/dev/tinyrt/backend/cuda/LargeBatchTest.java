package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Max batch 512 and 1024 through the executor on the CUDA backend, against the fake driver ({@link LargeBatchScenario}). */
class LargeBatchTest {
    @Test
    void theExecutorRunsMaxBatches512And1024OnTheCudaBackend() throws Exception {
        Path out = Path.of("target/fake-cuda-large-batch");
        FakeDriverTest.buildFakes(out, false);
        String text = FakeDriverTest.scenario(out, LargeBatchScenario.class);
        assertTrue(text.contains("LARGE BATCH SCENARIO PASSED"), FakeDriverTest.tail(text));
    }
}
