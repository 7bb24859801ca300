package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** KV-cache sizing from free GPU memory on a fake driver with a 192 MiB "GPU" ({@link KvCacheMemoryScenario}). */
class KvCacheMemoryTest {
    @Test
    void theCudaKvCacheIsAFractionOfFreeGpuMemory() throws Exception {
        String text = FakeDriverTest.scenario(FakeDriverTest.fakes(false), KvCacheMemoryScenario.class,
                Map.of("FAKE_CUDA_TOTAL_MIB", "192"));
        assertTrue(text.contains("KV MEMORY SCENARIO PASSED"), FakeDriverTest.tail(text));
    }
}
