package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.cli.CommandRunner;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs in a child JVM whose fake driver executes tinyrt's real kernel sources on the CPU (emu.h): the GPU
 * self-test's batched decode attention group must pass (the batched kernel against the CPU backend over ragged
 * batches, and a sequence's output bits alone = batched), with the number of checks it is known to make.
 */
public final class EmulatedBatchAttentionScenario {
    static final int CHECKS = 1 + 8 * 4 + 4;  // "kernel ran", 8 scenarios x (rope + 3 steps), 4 invariance checks

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
