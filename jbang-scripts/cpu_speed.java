///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.bench.CpuSpeed;
import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.StoragePrecision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "cpu_speed", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measure CPU prefill and decode speed (default: the TinyLlama-1.1B-shaped random checkpoint,"
                + " generated once into the cache) and write JSON with machine, date and commit.")
public class cpu_speed implements Callable<Integer> {
    @Option(names = "--model", description = "model directory (default: TinyLlama-1.1B-shaped, seed 0, fp16)") Path model;
    @Option(names = "--precision", defaultValue = "auto") String precision;
    @Option(names = "--threads", defaultValue = "0", description = "0 = one per core") int threads;
    @Option(names = "--input-lens", defaultValue = "32,128,512", split = ",") List<Integer> inputLens;
    @Option(names = "--decode-prompt", defaultValue = "128") int decodePrompt;
    @Option(names = "--decode-tokens", defaultValue = "64") int decodeTokens;
    @Option(names = "--warmup", defaultValue = "1") int warmup;
    @Option(names = "--repeats", defaultValue = "3") int repeats;
    @Option(names = "--out", description = "JSON file to write") Path out;
    @Spec CommandSpec spec;

    public static void main(String... args) {
        CommandRunner.exit(new cpu_speed(), args);
    }

    @Override
    public Integer call() throws Exception {
        Path dir = model != null ? model : RandomCheckpoint.cachedPreset("tinyllama-1.1b", 0);
        var options = new LoadedModel.Options("cpu", StoragePrecision.parse(precision), threads);
        ObjectNode result = RunInfo.collect("jbang jbang-scripts/cpu_speed.java " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        try (LoadedModel m = LoadedModel.open(dir, options)) {
            result.put("model", dir.getFileName().toString());
            result.put("parameters", m.config().parameterCount());
            result.put("precision", precision);
            result.put("weight_bytes", m.model().weightBytes());
            result.put("threads", threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
            result.setAll(CpuSpeed.run(m, new CpuSpeed.Settings(inputLens, decodePrompt, decodeTokens, warmup, repeats)));
        }
        String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result);
        System.out.println(json);
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, json + "\n");
        }
        return 0;
    }
}
