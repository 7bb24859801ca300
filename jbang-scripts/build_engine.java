///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.EngineBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "build_engine", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Build an engine directory from a TensorRT-LLM checkpoint, as trtllm-build does: config.json "
                + "(pretrained_config + build_config), re-packed weights and, for the CUDA backend, the kernel chosen "
                + "per GEMM shape by timing the candidates on this GPU (docs/engine.md).",
                "Run it with: jbang jbang-scripts/inference_engine.java --engine ENGINE_DIR --backend cuda"})
public class build_engine implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "TensorRT-LLM checkpoint (convert_checkpoint.java)")
    Path checkpoint;
    @Option(names = "--out", required = true, description = "engine directory to create") Path out;
    @Option(names = "--backend", defaultValue = "auto", description = "cpu, cuda or auto (default: auto)") String backend;
    @Option(names = "--max-batch-size", defaultValue = "64") int maxBatchSize;
    @Option(names = "--max-input-len", defaultValue = "1024") int maxInputLen;
    @Option(names = "--max-seq-len", description = "default: the model's max_position_embeddings") Integer maxSeqLen;
    @Option(names = "--max-num-tokens", defaultValue = "2048") int maxNumTokens;
    @Option(names = "--tokens-per-block", defaultValue = "32") int tokensPerBlock;

    public static void main(String... args) {
        CommandRunner.exit(new build_engine(), args);
    }

    @Override
    public Integer call() {
        int seq = maxSeqLen != null ? maxSeqLen : EngineBuilder.contextOf(checkpoint);
        var limits = new BuildConfig.BuildLimits(maxBatchSize, Math.min(maxInputLen, maxSeqLen != null ? maxInputLen
                : seq - 1), seq, maxNumTokens, tokensPerBlock);
        EngineBuilder.Result r = EngineBuilder.build(checkpoint, out, limits, backend, System.err);
        System.out.printf("engine %s: backend %s, %.1f MB of weights, %d tactics (%s)%n", r.directory(), r.backend(),
                r.weightBytes() / 1e6, r.tactics(), r.tacticsNote());
        return 0;
    }
}
