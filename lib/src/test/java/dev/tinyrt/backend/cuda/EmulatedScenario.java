package dev.tinyrt.backend.cuda;

import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.engine.ParityCheck;
import dev.tinyrt.model.StoragePrecision;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs in a child JVM whose fake driver executes tinyrt's real kernel sources on the CPU (emu.h): the GPU self-test
 * must pass (every kernel against the CPU backend, whole models, graphs against eager) and the CUDA engine must
 * match the committed HF references of the parity checkpoints within fp16 tolerance, with identical greedy
 * continuations.
 */
public final class EmulatedScenario {
    public static void main(String... args) throws Exception {
        List<String> failures = new ArrayList<>();
        Path tmp = Files.createTempDirectory("tinyrt-emulated");
        int selftest = CommandRunner.run(new CudaSelfTest(), "--tmp", tmp.resolve("st").toString(), "--out",
                tmp.resolve("selftest.json").toString());
        if (selftest != 0) {
            failures.add("self-test exit " + selftest);
        }
        String[][] models = {{"mha-untied-fp16-hf4", "src/test/resources/parity/mha-untied-fp16-hf4"},
                {"gqa-tied-bf16-hf5", "src/test/resources/parity/gqa-tied-bf16-hf5"},
                {"tinyrt-12m", "../data/models/tinyrt-12m"}};
        for (String[] m : models) {
            try (LoadedModel model = LoadedModel.open(Path.of(m[1]),
                    new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
                ParityCheck.Report r = ParityCheck.run(model, Path.of("src/test/resources/parity/refs", m[0]
                        + ".safetensors"));
                System.out.printf("parity %s: worst relative error %.3e, greedy %s%n", m[0], r.worstRelativeError(),
                        r.allGreedyMatch() ? "identical" : "differs");
                if (!r.passed(1e-2)) {
                    failures.add("parity " + m[0]);
                }
            }
        }
        System.out.println(failures.isEmpty() ? "EMULATED SCENARIO PASSED" : "EMULATED SCENARIO FAILED: " + failures);
        System.exit(failures.isEmpty() ? 0 : 1);
    }
}
