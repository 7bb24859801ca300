package dev.tinyrt.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.memory.ChartFiles;
import dev.tinyrt.notebook.PlotlyJs;
import dev.tinyrt.quality.QualityReport;
import tech.tablesaw.plotly.components.Axis;
import tech.tablesaw.plotly.components.Figure;
import tech.tablesaw.plotly.components.Layout;
import tech.tablesaw.plotly.components.Margin;
import tech.tablesaw.plotly.traces.BarTrace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The README's quality table across precisions, from the {@code quality_table_*.json} files in data/results
 * (written by quality_table.java), with a chart of mean KL divergence and ΔPPL per precision.
 */
public final class QualitySection {
    static final String PREFIX = "quality_table_";
    private static final ObjectMapper JSON = new ObjectMapper();

    private QualitySection() {
    }

    /** Section {@code quality}: one table per committed quality_table run, with its provenance. */
    public static String section(Path dir) {
        List<Path> files = ResultTables.files(dir, PREFIX);
        if (files.isEmpty()) {
            return "_No quality table committed yet: `jbang jbang-scripts/quality_table.java` writes one._\n";
        }
        StringBuilder s = new StringBuilder();
        for (Path f : files) {
            JsonNode n = read(f);
            JsonNode first = n.path("results").path(0);
            s.append(String.format(Locale.ROOT, "**%s**, %d windows of %d tokens of `%s` (%,d tokens scored), "
                            + "reference %s:%n%n", n.path("reference_dir").asText(n.path("reference").asText()),
                    first.path("windows").asInt(), first.path("context_size").asInt(), n.path("text").asText(),
                    first.path("tokens_scored").asLong(), first.path("reference").asText()));
            s.append(QualityReport.markdown(n.path("results")));
            s.append(String.format(Locale.ROOT, "%nMeasured %s on %s, %d cores, at `%s` with `%s`.%n%n",
                    n.path("date").asText("").substring(0, Math.min(10, n.path("date").asText("").length())),
                    n.path("machine").path("cpu").asText(), n.path("machine").path("logical_cores").asInt(),
                    n.path("commit").asText("").substring(0, Math.min(8, n.path("commit").asText("").length())),
                    n.path("command").asText()));
            s.append("![mean KL divergence per precision](docs/charts/quality/").append(chartName(f))
                    .append(".png)\n\n");
        }
        return s.toString();
    }

    /** Writes one PNG per quality table into {@code out} (HTML next to it; PNGs need chromium). */
    public static List<Path> charts(Path dir, Path out) {
        List<Path> written = new ArrayList<>();
        List<Path> files = ResultTables.files(dir, PREFIX);
        if (files.isEmpty()) {
            return written;
        }
        PlotlyJs plotly = PlotlyJs.locate();
        Optional<dev.tinyrt.report.ChromiumPng> chromium = ChartFiles.chromium();
        for (Path f : files) {
            Path html = ChartFiles.html(figure(read(f)), out, chartName(f), plotly);
            written.add(html);
            if (chromium.isPresent()) {
                Path png = out.resolve(chartName(f) + ".png");
                ChartFiles.png(chromium.get(), html, png);
                written.add(png);
            }
        }
        return written;
    }

    static Figure figure(JsonNode doc) {
        List<String> labels = new ArrayList<>();
        List<Double> kld = new ArrayList<>();
        List<Double> top1 = new ArrayList<>();
        for (JsonNode r : doc.path("results")) {
            if (r.path("kld_mean").path("value").asDouble() <= 0) {
                continue;  // the reference (and copies identical to it) have nothing to show on a log axis
            }
            labels.add(r.path("label").asText());
            kld.add(r.path("kld_mean").path("value").asDouble());
            top1.add(100 - r.path("same_top1_pct").path("value").asDouble());
        }
        Object[] x = labels.toArray();
        Layout layout = Layout.builder().title("Quality vs " + doc.path("results").path(0).path("reference").asText()
                        + ": mean KL divergence and top-1 disagreement (log scale; lower is better)")
                .width(ChartFiles.WIDTH - 50).height(ChartFiles.HEIGHT - 50)
                .margin(Margin.builder().left(70).right(20).top(60).bottom(120).build())
                .barMode(Layout.BarMode.GROUP)
                .yAxis(Axis.builder().type(Axis.Type.LOG).title("value").build()).build();
        return new Figure(layout,
                BarTrace.builder(x, kld.stream().mapToDouble(Double::doubleValue).toArray()).name("mean KLD (nats)")
                        .build(),
                BarTrace.builder(x, top1.stream().mapToDouble(Double::doubleValue).toArray())
                        .name("top-1 differs from the reference (%)").build());
    }

    static String chartName(Path file) {
        return file.getFileName().toString().replaceFirst("\\.json$", "");
    }

    private static JsonNode read(Path f) {
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
