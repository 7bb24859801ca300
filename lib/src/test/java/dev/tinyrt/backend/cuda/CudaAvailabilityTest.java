package dev.tinyrt.backend.cuda;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.scripts.ScriptHarness;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a machine without an NVIDIA driver (this project's CPU machine and CI): the CUDA backend refuses with one clear
 * message, "auto" falls back to the CPU, and the script exits with one error line. Skipped where a GPU works.
 */
class CudaAvailabilityTest {
    private static final Path MODEL = Path.of("src/test/resources/parity/mha-untied-fp16-hf4");

    private static void assumeNoGpu() {
        assumeTrue(CudaDevice.unavailableReason().isPresent(), "a GPU is available here");
    }

    @Test
    void cudaIsRefusedWithTheReason() {
        assumeNoGpu();
        String reason = CudaDevice.unavailableReason().orElseThrow();
        assertTrue(reason.startsWith("the CUDA backend cannot start: "), reason);
        assertTrue(reason.contains("libcuda.so.1") || reason.contains("no CUDA device") || reason.contains("kernels"),
                reason);
        assertTrue(reason.endsWith("use --backend cpu"), reason);
        TinyrtException e = assertThrows(TinyrtException.class, () -> LoadedModel.open(MODEL,
                new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0)));
        assertEquals(reason, e.getMessage());
    }

    @Test
    void autoPicksTheCpuWhenThereIsNoGpu() {
        assumeNoGpu();
        try (LoadedModel m = LoadedModel.open(MODEL, new LoadedModel.Options("auto", StoragePrecision.AUTO, 1))) {
            assertEquals("cpu", m.backend().name());
            assertEquals(m.config().vocabSize(), m.model().lastLogits(new int[]{1, 5, 9}).length);
        }
    }

    @Test
    void theScriptPrintsOneErrorLine() {
        assumeNoGpu();
        ScriptHarness.Result r = ScriptHarness.run("inference_engine.java", "--model", MODEL.toString(),
                "--prompt-ids", "1,5,9", "--max-new-tokens", "2", "--backend", "cuda");
        assertEquals(2, r.exitCode(), r.err());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("error: the CUDA backend cannot start: "), lines[0]);
        assertFalse(r.err().contains("Exception"), r.err());
    }
}
