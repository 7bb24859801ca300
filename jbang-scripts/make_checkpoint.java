///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.ConfigOverrides;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "make_checkpoint", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write a HuggingFace-format Llama checkpoint with seeded random weights.")
public class make_checkpoint implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "tiny", description = "tinyllama-1.1b or tiny") String preset;
    @Option(names = "--seed", defaultValue = "0") long seed;
    @Option(names = "--dtype", defaultValue = "fp16", description = "fp16, bf16 or fp32") String dtype;
    @Option(names = "--out", required = true) Path out;
    @Option(names = "--config-style", defaultValue = "hf4", description = "config.json spelling: hf4 or hf5") String style;
    @Option(names = "--init-std", defaultValue = "0.02", description = "std of linear/embedding weights") double initStd;
    @Option(names = "--norm-jitter", defaultValue = "0", description = "std of norm gains around 1") double normJitter;
    @Option(names = "--no-tokenizer", description = "do not copy the bundled tokenizer") boolean noTokenizer;
    @Option(names = "--vocab-size") Integer vocabSize;
    @Option(names = "--hidden-size") Integer hiddenSize;
    @Option(names = "--intermediate-size") Integer intermediateSize;
    @Option(names = "--layers") Integer layers;
    @Option(names = "--heads") Integer heads;
    @Option(names = "--kv-heads") Integer kvHeads;
    @Option(names = "--head-dim") Integer headDim;
    @Option(names = "--max-positions") Integer maxPositions;
    @Option(names = "--rope-theta") Double ropeTheta;
    @Option(names = "--rms-eps") Float rmsEps;
    @Option(names = "--tie-embeddings", arity = "1", description = "true or false") Boolean tie;

    public static void main(String... args) {
        CommandRunner.exit(new make_checkpoint(), args);
    }

    @Override
    public Integer call() {
        LlamaConfig config = new ConfigOverrides(vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads,
                headDim, maxPositions, ropeTheta, rmsEps, tie).apply(RandomCheckpoint.preset(preset));
        DType storage = switch (dtype) {
            case "fp16" -> DType.F16;
            case "bf16" -> DType.BF16;
            case "fp32" -> DType.F32;
            default -> throw new TinyrtException("--dtype must be fp16, bf16 or fp32, got \"" + dtype + "\"");
        };
        LlamaConfig.Spelling spelling = switch (style) {
            case "hf4" -> LlamaConfig.Spelling.HF4;
            case "hf5" -> LlamaConfig.Spelling.HF5;
            default -> throw new TinyrtException("--config-style must be hf4 or hf5, got \"" + style + "\"");
        };
        // the bundled tokenizer only fits the Llama-2 vocabulary
        Path tokenizer = noTokenizer || config.vocabSize() != 32000 ? null : LlamaTokenizer.defaultDirectory();
        RandomCheckpoint.write(config, new RandomCheckpoint.Options(seed, storage, initStd, normJitter, spelling,
                tokenizer), out);
        System.out.printf("wrote %s: %,d parameters, %s, %d layers, hidden %d, heads %d/%d, vocab %d%s%n", out,
                config.parameterCount(), dtype, config.numLayers(), config.hiddenSize(), config.numHeads(),
                config.numKvHeads(), config.vocabSize(), tokenizer == null ? ", no tokenizer" : "");
        return 0;
    }
}
