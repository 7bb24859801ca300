package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.cli.CommandRunner;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs in a child JVM whose fake driver executes tinyrt's real kernel sources on the CPU (emu.h): the GPU
 * self-test's batched decode attention group must pass (the batched kernel against the CPU backend over ragged
 * batches on fp16, int8 and fp8 KV caches, a sequence's output bits alone = batched, and on int8/fp8 caches the
 * batched kernel = the latency kernel within two fp16 ulps), with the number of checks it is known to make.
 */
public final class EmulatedBatchAttentionScenario {
    /**
     * "kernel ran"; fp16: 8 scenarios x (rope + 3 steps) and 4 invariance checks; int8 and fp8 each: 3 scenarios x 4,
     * 2 invariance checks and 2 comparisons with the latency kernel.
     */
    static final int CHECKS = 1 + 8 * 4 + 4 + 2 * (3 * 4 + 2 + 2);

    public static void main(String... args) throws Exception {
        Path tmp = Files.createTempDirectory("tinyrt-emulated-batch-attention");
        Path json = tmp.resolve("selftest.json");
        int exit = CommandRunner.run(new CudaSelfTest(), "--tmp", tmp.resolve("st").toString(), "--only",
                "batched_attention", "--out", json.toString());
        JsonNode checks = new ObjectMapper().readTree(json.toFile()).get("checks");
        boolean passed = exit == 0 && checks.size() == CHECKS;
        System.out.println(passed ? "BATCHED ATTENTION SCENARIO PASSED"
                : "BATCHED ATTENTION SCENARIO FAILED: exit " + exit + ", " + checks.size() + " checks");
        System.exit(passed ? 0 : 1);
    }
}
