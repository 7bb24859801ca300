///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.bench.HfBaseline;
import dev.tinyrt.cli.CommandRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "inference_hf", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run one prompt through HuggingFace transformers (eager generate(), greedy; fp16 on a GPU, "
                + "fp32 on a CPU) and print the text with TTFT, decode speed and peak memory: the baseline "
                + "tinyrt is measured against. Needs python3 with torch and transformers.")
public class inference_hf implements Callable<Integer> {
    @Option(names = "--model", description = "HF checkpoint directory (default: the bundled trained model)") Path model;
    @Option(names = "--prompt", required = true, description = "prompt text") String prompt;
    @Option(names = "--max-new-tokens", defaultValue = "64") int maxNewTokens;
    @Option(names = "--stream", description = "print tokens as they are generated") boolean stream;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cuda or cpu") String device;
    @Option(names = "--python", defaultValue = "python3", description = "interpreter with torch and transformers")
    String python;

    public static void main(String... args) {
        CommandRunner.exit(new inference_hf(), args);
    }

    @Override
    public Integer call() {
        Path dir = model != null ? model : ProjectHome.defaultModel();
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new TinyrtException("model directory not found or without config.json: " + dir);
        }
        if (prompt.isEmpty()) {
            throw new TinyrtException("empty prompt: give --prompt some text");
        }
        if (!device.matches("auto|cuda|cpu")) {
            throw new TinyrtException("unknown device \"" + device + "\"; choose auto, cuda or cpu");
        }
        return HfBaseline.generate(python, dir, prompt, maxNewTokens, stream, device);
    }
}
