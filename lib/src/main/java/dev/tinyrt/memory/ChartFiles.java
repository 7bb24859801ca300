package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.notebook.PlotlyJs;
import dev.tinyrt.report.ChartPage;
import dev.tinyrt.report.ChromiumPng;
import tech.tablesaw.plotly.components.Figure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Writes a figure as a standalone HTML page with plotly.js inlined (it opens offline) and, when a headless
 * Chromium is installed, as a PNG screenshot of that page (the report package's {@link ChartPage} and
 * {@link ChromiumPng}).
 */
public final class ChartFiles {
    public static final int WIDTH = 1100;
    public static final int HEIGHT = 660;

    private ChartFiles() {
    }

    public static Path html(Figure figure, Path dir, String name, PlotlyJs plotly) {
        Path file = dir.resolve(name + ".html");
        try {
            Files.createDirectories(dir);
            Files.writeString(file, ChartPage.html(name, List.of(figure), plotly), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    public static Optional<ChromiumPng> chromium() {
        return ChromiumPng.find();
    }

    public static void png(ChromiumPng chromium, Path html, Path png) {
        chromium.render(html, png, WIDTH, HEIGHT);
    }
}
