///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.ProjectHome;
import dev.tinyrt.bench.BenchmarkReport;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.report.BenchmarkCharts;
import dev.tinyrt.report.BenchmarkMarkdown;
import dev.tinyrt.report.GeneratedSections;
import dev.tinyrt.report.QualitySection;
import dev.tinyrt.report.ResultTables;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Regenerate the README's result tables and the benchmark charts (self-contained HTML, and PNG "
                + "through headless chromium) from the JSON files in data/results alone.")
public class report implements Callable<Integer> {
    @Option(names = "--results", description = "results directory (default: data/results)") Path results;
    @Option(names = "--readme", description = "Markdown file to update (default: README.md)") Path readme;
    @Option(names = "--charts", description = "chart directory (default: docs/charts)") Path charts;
    @Option(names = "--no-charts", description = "only the tables") boolean noCharts;

    public static void main(String... args) {
        CommandRunner.exit(new report(), args);
    }

    @Override
    public Integer call() {
        Path home = (results == null || readme == null || (charts == null && !noCharts)) ? ProjectHome.require() : null;
        Path dir = results != null ? results : home.resolve("data/results");
        Path file = readme != null ? readme : home.resolve("README.md");
        boolean changed = GeneratedSections.rewrite(file, ResultTables.all(dir));
        System.out.println(file + (changed ? ": tables regenerated" : ": already up to date"));
        if (!noCharts) {
            Path out = charts != null ? charts : home.resolve("docs/charts");
            for (Path p : QualitySection.charts(dir, out.resolve("quality"))) {
                System.out.println("chart: " + p);
            }
        }
        List<BenchmarkReport> benchmarks = BenchmarkMarkdown.readAll(dir);
        if (!noCharts && !benchmarks.isEmpty()) {
            Path out = charts != null ? charts : home.resolve("docs/charts");
            for (Path p : BenchmarkCharts.write(benchmarks, out)) {
                System.out.println("chart: " + p);
            }
        }
        return 0;
    }
}
