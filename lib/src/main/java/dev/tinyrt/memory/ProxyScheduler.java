package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs the real executor — its scheduler, block manager and admission policy — over a proxy model so small that
 * a step costs almost nothing: one layer, hidden size 8, one key/value head of 2, a 512-token vocabulary, but the target's context length.
 * Which sequences are admitted, when blocks run out and how many sequences share the pool depend only on token
 * counts, so the proxy's steps are the target's steps; only their durations differ (see {@link StepTimeModel}).
 * The planner uses it to answer for memory budgets no one has run yet.
 */
public final class ProxyScheduler implements AutoCloseable {
    private static final int VOCAB = 512;
    private final Path dir;
    private final LoadedModel proxy;
    private final WorkloadRunner runner;

    public ProxyScheduler(int maxPositions) {
        try {
            dir = Files.createTempDirectory("tinyrt-proxy-");
        } catch (IOException e) {
            throw new TinyrtException("cannot create a temporary directory: " + e.getMessage(), e);
        }
        LlamaConfig config = new LlamaConfig(VOCAB, 8, 8, 1, 1, 1, 2, maxPositions, 1e-5f, 10000.0, true,
                "float32", 1, List.of(2));
        RandomCheckpoint.write(config, new RandomCheckpoint.Options(0, DType.F32, 0.02, 0, LlamaConfig.Spelling.HF4,
                null), dir);
        proxy = LoadedModel.open(dir, new LoadedModel.Options("cpu", dev.tinyrt.model.StoragePrecision.AUTO, 1));
        runner = new WorkloadRunner(proxy.model(), proxy.eosIds(), null);
    }

    /**
     * The target's run of {@code workload} with {@code mode} over a pool of {@code budgetBytes} at
     * {@code bytesPerToken}, as the proxy executes it: the same blocks, the same steps; times are the proxy's.
     */
    public RunResult simulate(Workload workload, AllocationMode mode, RunLimits limits, long budgetBytes,
                              long bytesPerToken) {
        Workload mapped = workload.mapIds(id -> id < 3 ? id : 3 + id % (VOCAB - 3));
        return runner.run(mapped, mode, limits, budgetBytes, bytesPerToken);
    }

    @Override
    public void close() {
        proxy.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }
}
