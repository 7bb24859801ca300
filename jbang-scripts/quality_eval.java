///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.ProjectHome;
import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.quality.ModelSpec;
import dev.tinyrt.quality.QualityReport;
import dev.tinyrt.quality.QualityRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "quality_eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare a candidate model's next-token distributions with a reference model's on held-out"
                + " text, as llama.cpp's perplexity --kl-divergence does (only the second half of each context"
                + " window is scored): perplexity and ΔPPL, mean and p99 KL divergence, same-top-1 %. Writes JSON.")
public class quality_eval implements Callable<Integer> {
    @Option(names = "--reference", required = true, description = "reference model directory") Path reference;
    @Option(names = "--candidate", required = true, description = "candidate model directory") Path candidate;
    @Option(names = "--text", required = true, description = "evaluation text (documents separated by <|endoftext|> lines)") Path text;
    @Option(names = "--ctx", defaultValue = "512", description = "tokens per window (default ${DEFAULT-VALUE})") int ctx;
    @Option(names = "--max-chunks", defaultValue = "0", description = "evaluate at most this many windows (0 = all)") int maxChunks;
    @Option(names = "--reference-precision", defaultValue = "fp32", description = "fp32|fp16|bf16|auto (default ${DEFAULT-VALUE})") String referencePrecision;
    @Option(names = "--candidate-precision", defaultValue = "auto", description = "fp32|fp16|bf16|auto (default ${DEFAULT-VALUE})") String candidatePrecision;
    @Option(names = "--kv-cache-dtype", defaultValue = "auto", description = "candidate's KV cache: auto|fp32|fp16|int8|fp8 "
            + "(int8/fp8 scales from the checkpoint, else calibrated on data/calibration/calib.txt; the reference keeps "
            + "its own, fp32 on the CPU)") String kvCacheDtype;
    @Option(names = "--label", description = "candidate name in the results (default: folder name and precision)") String label;
    @Option(names = "--reference-label", description = "reference name (default: folder name and precision)") String referenceLabel;
    @Option(names = "--threads", defaultValue = "0", description = "CPU threads per model (0 = one per core)") int threads;
    @Option(names = "--out", description = "JSON file (default: data/results/quality_<label>_<date>.json)") Path out;
    @Spec CommandSpec spec;

    public static void main(String... args) {
        CommandRunner.exit(new quality_eval(), args);
    }

    @Override
    public Integer call() {
        ModelSpec ref = spec(reference, referencePrecision, referenceLabel, KvCacheDtype.AUTO);
        ModelSpec cand = spec(candidate, candidatePrecision, label, KvCacheDtype.parse(kvCacheDtype));
        QualityRun run = new QualityRun(ref, List.of(cand), text, ctx, maxChunks, threads, false);
        QualityRun.Outcome outcome = run.execute();
        System.out.print(QualityReport.summary(outcome.results().getFirst()));
        System.out.printf(Locale.ROOT, "time: load %.1f s, tokenize %.1f s, evaluate %.1f s%n",
                outcome.loadSeconds(), outcome.tokenizeSeconds(), outcome.evaluateSeconds());
        Path file = out != null ? out
                : QualityReport.defaultFile(ProjectHome.require().resolve("data/results"), cand.label());
        QualityReport.writeJson(file, QualityReport.document(RunInfo.collect("jbang jbang-scripts/quality_eval.java "
                + String.join(" ", spec.commandLine().getParseResult().originalArgs())), run, outcome));
        System.out.println("wrote " + file);
        return 0;
    }

    private static ModelSpec spec(Path dir, String precision, String name, KvCacheDtype kv) {
        ModelSpec s = ModelSpec.of(dir, StoragePrecision.parse(precision), kv);
        return name == null ? s : new ModelSpec(name, dir, s.precision(), kv);
    }
}
