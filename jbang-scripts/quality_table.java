///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.ProjectHome;
import dev.tinyrt.bench.RunInfo;
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

@Command(name = "quality_table", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Quality of several candidates against one reference (computed once per window), as"
                + " quality_eval measures it; the reference itself is the first row. Writes JSON and a Markdown table.")
public class quality_table implements Callable<Integer> {
    @Option(names = "--reference", required = true, description = "reference model directory") Path reference;
    @Option(names = "--reference-precision", defaultValue = "fp32", description = "fp32|fp16|bf16|auto (default ${DEFAULT-VALUE})") String referencePrecision;
    @Option(names = "--reference-label", description = "reference row name (default: its precision)") String referenceLabel;
    @Option(names = "--row", required = true, paramLabel = "LABEL=[DIR][@PRECISION][,kv=DTYPE]",
            description = "a candidate row, e.g. bf16=@bf16 (the reference folder in bf16), int4_awq=out/awq or "
                    + "KV-int8=@fp32,kv=int8 (int8 KV cache)") List<String> rows;
    @Option(names = "--text", required = true, description = "evaluation text (documents separated by <|endoftext|> lines)") Path text;
    @Option(names = "--ctx", defaultValue = "512", description = "tokens per window (default ${DEFAULT-VALUE})") int ctx;
    @Option(names = "--max-chunks", defaultValue = "0", description = "evaluate at most this many windows (0 = all)") int maxChunks;
    @Option(names = "--threads", defaultValue = "0", description = "CPU threads per model (0 = one per core)") int threads;
    @Option(names = "--backend", defaultValue = "cpu", description = "engine of the candidate rows: cpu, cuda or auto "
            + "(the reference always runs on the CPU; non-CPU rows are labelled with the backend)") String backend;
    @Option(names = "--out", description = "JSON file (default: data/results/quality_table_<date>.json); the Markdown table goes next to it (.md)") Path out;
    @Spec CommandSpec spec;

    public static void main(String... args) {
        CommandRunner.exit(new quality_table(), args);
    }

    @Override
    public Integer call() {
        StoragePrecision precision = StoragePrecision.parse(referencePrecision);
        ModelSpec ref = new ModelSpec(referenceLabel != null ? referenceLabel : precision.label(), reference, precision);
        List<ModelSpec> candidates = rows.stream().map(r -> ModelSpec.parseRow(r, reference))
                .map(c -> backend.equals("cpu") ? c : c.withLabel(c.label() + " (" + backend + ")")).toList();
        QualityRun run = new QualityRun(ref, candidates, text, ctx, maxChunks, threads, true, backend);
        QualityRun.Outcome outcome = run.execute();
        String table = QualityReport.markdown(outcome.results());
        System.out.print(table);
        System.out.printf(Locale.ROOT, "%d windows of %d tokens; time: load %.1f s, tokenize %.1f s, evaluate %.1f s%n",
                outcome.results().getFirst().windows(), ctx, outcome.loadSeconds(), outcome.tokenizeSeconds(),
                outcome.evaluateSeconds());
        Path file = out != null ? out
                : QualityReport.defaultFile(ProjectHome.require().resolve("data/results"), "table");
        QualityReport.writeJson(file, QualityReport.document(RunInfo.collect("jbang jbang-scripts/quality_table.java "
                + String.join(" ", spec.commandLine().getParseResult().originalArgs())), run, outcome));
        Path md = file.resolveSibling(file.getFileName().toString().replaceFirst("\\.json$", "") + ".md");
        QualityReport.writeText(md, table);
        System.out.println("wrote " + file + " and " + md);
        return 0;
    }
}
