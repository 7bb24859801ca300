package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.StoragePrecision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Loads a model on the GPU, generates a few tokens (so graphs, KV storage and tactics are all exercised) and closes
 * it, many times; device memory reported by cuMemGetInfo must come back to where it was after the first cycles.
 */
@Command(name = "cuda_leakcheck", mixinStandardHelpOptions = true,
        description = "Load and close a model on the GPU repeatedly; fail if device memory does not come back.")
public final class CudaLeakCheck implements Callable<Integer> {
    @Option(names = "--model", required = true) Path model;
    @Option(names = "--cycles", defaultValue = "100") int cycles;
    @Option(names = "--tolerance-mib", defaultValue = "4", description = "allowed drift in MiB") long toleranceMib;
    @Option(names = "--out") Path out;

    public static void main(String... args) {
        CommandRunner.exit(new CudaLeakCheck(), args);
    }

    @Override
    public Integer call() throws IOException {
        CudaDevice device = CudaDevice.get();
        long before = device.memoryInfo()[0];
        for (int i = 0; i < 2; i++) {
            cycle();  // first cycles load cuBLAS's and the driver's lazily loaded code: not a leak
        }
        long baseline = device.memoryInfo()[0];
        long lowest = Long.MAX_VALUE;
        long whileLoaded = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < cycles; i++) {
            whileLoaded = Math.max(whileLoaded, cycle());
            lowest = Math.min(lowest, device.memoryInfo()[0]);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long after = device.memoryInfo()[0];
        long drift = baseline - after;
        boolean ok = drift <= toleranceMib << 20;
        System.out.printf("%s: %d load/generate/close cycles in %.1f s; free device memory %d MiB before the first"
                        + " cycle, %d MiB after 2 warm-up cycles, %d MiB after all cycles (drift %+.1f MiB, tolerance"
                        + " %d MiB); the loaded model used up to %.1f MiB%n", ok ? "PASS" : "FAIL", cycles, seconds,
                before >> 20, baseline >> 20, after >> 20, drift / 1048576.0, toleranceMib, whileLoaded / 1048576.0);
        if (out != null) {
            ObjectNode n = JsonNodeFactory.instance.objectNode();
            n.put("passed", ok).put("cycles", cycles).put("seconds", seconds).put("model", model.toString())
                    .put("free_bytes_before", before).put("free_bytes_baseline", baseline)
                    .put("free_bytes_after", after).put("lowest_free_bytes_between_cycles", lowest)
                    .put("drift_bytes", drift).put("loaded_model_device_bytes", whileLoaded)
                    .put("tolerance_bytes", toleranceMib << 20);
            Files.createDirectories(out.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), n);
        }
        return ok ? 0 : 1;
    }

    /** One load, 8 greedy tokens (the decode steps record and replay graphs), close; returns the backend's bytes. */
    private long cycle() {
        try (LoadedModel m = LoadedModel.open(model, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            int vocab = m.config().vocabSize();
            int[] prompt = {1, 5 % vocab, 9 % vocab, 13 % vocab, 17 % vocab};
            GreedyDecode.run(m.model(), prompt, 8);
            return ((CudaBackend) m.backend()).deviceBytes();
        }
    }
}
