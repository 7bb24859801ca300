///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.engine.ParityCheck;
import dev.tinyrt.model.StoragePrecision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "parity_check", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compare the engine's logits and greedy continuations with HF transformers reference outputs"
                + " (written by environment/hf_reference.py). Exit code 1 when they differ.")
public class parity_check implements Callable<Integer> {
    @Option(names = "--model", required = true) Path model;
    @Option(names = "--reference", required = true) Path reference;
    @Option(names = "--tolerance", defaultValue = "1e-4", description = "max error relative to max |logit|") double tol;
    @Option(names = "--backend", defaultValue = "cpu") String backend;
    @Option(names = "--precision", defaultValue = "fp32") String precision;
    @Option(names = "--out", description = "also write the result as JSON (with machine, date and commit)") Path out;
    @Spec CommandSpec spec;

    public static void main(String... args) {
        CommandRunner.exit(new parity_check(), args);
    }

    @Override
    public Integer call() {
        var options = new LoadedModel.Options(backend, StoragePrecision.parse(precision), 0);
        try (LoadedModel m = LoadedModel.open(model, options)) {
            ParityCheck.Report report = ParityCheck.run(m, reference);
            System.out.println("prompt  tokens  max|err|      rel.err     greedy");
            for (ParityCheck.PromptResult r : report.prompts()) {
                System.out.printf("%6d  %6d  %.3e  %.3e  %s%n", r.index(), r.length(), r.maxAbsError(),
                        r.relativeError(), r.greedyMatches() ? "identical" : "DIFFERS");
            }
            boolean ok = report.passed(tol);
            System.out.printf("%s: worst relative error %.3e (tolerance %.0e), greedy %s%n", ok ? "PASS" : "FAIL",
                    report.worstRelativeError(), tol, report.allGreedyMatch() ? "identical" : "differs");
            if (out != null) {
                ParityCheck.writeJson(report, tol, out, RunInfo.collect("jbang jbang-scripts/parity_check.java "
                        + String.join(" ", spec.commandLine().getParseResult().originalArgs())));
            }
            return ok ? 0 : 1;
        }
    }
}
