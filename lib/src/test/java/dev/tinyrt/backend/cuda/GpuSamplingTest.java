package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU sampling kernel (sampling.cuh), run on the CPU by the kernel emulator behind the fake driver, against the
 * CPU sampler: see {@link SamplingScenario} for the checks.
 */
class GpuSamplingTest {
    @Test
    void theGpuSamplerFollowsTheCpuSampler() throws Exception {
        String text = FakeDriverTest.scenario(FakeDriverTest.fakes(true), SamplingScenario.class);
        System.out.println(text.lines().filter(l -> l.startsWith("chi-square") || l.startsWith("FAIL"))
                .reduce("", (a, b) -> a + b + "\n"));
        assertTrue(text.contains("SAMPLING SCENARIO PASSED"), FakeDriverTest.tail(text));
    }
}
