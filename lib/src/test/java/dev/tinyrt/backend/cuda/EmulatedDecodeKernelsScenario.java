package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.cli.CommandRunner;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs in a child JVM whose fake driver emulates tinyrt's kernels on the CPU and reports one multiprocessor
 * (FAKE_CUDA_SMS=1, two resident blocks), so every fused batch-1 decode GEMV launches two blocks that walk all its
 * row groups (gemv.cuh): the self-test's fused block boundaries (norm prologue and residual epilogue, fp16 / int8 /
 * int4 / AWQ), its attention group (both variants of the latency decode kernel, the 128-thread one and the wide one,
 * on fp16, int8 and fp8 caches, against the CPU) and its whole random models (CUDA against the CPU engine, greedy
 * continuations, graphs; the quantized ones in group quantized_models; FakeDriverTest adds the argmax group) must
 * pass, and the driver must have seen such walking launches.
 */
public final class EmulatedDecodeKernelsScenario {
    public static void main(String... args) throws Throwable {
        Path tmp = Files.createTempDirectory("tinyrt-emulated-decode-kernels");
        Path json = tmp.resolve("selftest.json");
        // the groups (args[0]) may be split over concurrent processes; all of them by default
        String groups = args.length > 0 ? args[0] : "fused_boundaries,attention,models,quantized_models";
        int exit = CommandRunner.run(new CudaSelfTest(), "--tmp", tmp.resolve("st").toString(), "--only", groups,
                "--out", json.toString());
        JsonNode checks = new ObjectMapper().readTree(json.toFile()).get("checks");
        String driver = FakeDriverScenario.report("libcuda.so.1", "fake_report");
        long walked = FakeDriverScenario.value(driver, "walked_gemv_launches");
        System.out.println("[fake] " + driver);
        boolean passed = exit == 0 && checks.size() > 10 && walked > 100;
        System.out.println(passed ? "DECODE KERNELS SCENARIO PASSED"
                : "DECODE KERNELS SCENARIO FAILED: exit " + exit + ", " + checks.size() + " checks, " + walked
                + " walking GEMV launches");
        System.exit(passed ? 0 : 1);
    }
}
