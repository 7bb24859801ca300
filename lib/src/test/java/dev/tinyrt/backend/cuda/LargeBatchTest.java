package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertTrue;

/** Max batch 512 and 1024 through the executor on the CUDA backend, against the fake driver ({@link LargeBatchScenario}). */
class LargeBatchTest {
    @Test
    void theExecutorRunsMaxBatches512And1024OnTheCudaBackend() throws Exception {
        String text = FakeDriverTest.scenario(FakeDriverTest.fakes(false), LargeBatchScenario.class);
        assertTrue(text.contains("LARGE BATCH SCENARIO PASSED"), FakeDriverTest.tail(text));
    }
}
