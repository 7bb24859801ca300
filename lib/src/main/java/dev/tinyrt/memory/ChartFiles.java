package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.notebook.PlotlyJs;
import tech.tablesaw.plotly.components.Figure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Writes a figure as a standalone HTML page with plotly.js inlined (it opens offline) and, when a headless
 * Chromium is installed, as a PNG screenshot of that page.
 */
public final class ChartFiles {
    static final int WIDTH = 1100;
    static final int HEIGHT = 640;

    private ChartFiles() {
    }

    public static Path html(Figure figure, Path dir, String name, PlotlyJs plotly) {
        String id = "chart_" + name;
        String page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + name + "</title></head>\n"
                + "<body style=\"margin:0\">\n" + plotly.scriptElement() + figure.divString(id) + "\n"
                + figure.asJavascript(id) + "\n</body></html>\n";
        Path file = dir.resolve(name + ".html");
        try {
            Files.createDirectories(dir);
            Files.writeString(file, page, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /** The Chromium executable on PATH, or {@code null}. */
    public static Path chromium() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** Renders {@code html} to {@code png} with headless Chromium (a throwaway profile and HOME). */
    public static void png(Path chromium, Path html, Path png) {
        try {
            Path profile = Files.createTempDirectory("tinyrt-chromium-");
            List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox",
                    "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--hide-scrollbars", "--virtual-time-budget=5000",
                    "--user-data-dir=" + profile, "--window-size=" + WIDTH + "," + HEIGHT,
                    "--screenshot=" + png.toAbsolutePath(), html.toAbsolutePath().toUri().toString()));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("HOME", profile.toString());
            Process p = pb.start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new TinyrtException("chromium did not render " + html + " within 120 s");
            }
            if (p.exitValue() != 0 || !Files.isRegularFile(png)) {
                throw new TinyrtException("chromium could not render " + html + " (exit " + p.exitValue() + ")");
            }
            deleteTree(profile);
        } catch (IOException e) {
            throw new TinyrtException("cannot run chromium: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TinyrtException("interrupted while rendering " + html);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
