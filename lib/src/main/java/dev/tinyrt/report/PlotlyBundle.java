package dev.tinyrt.report;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The plotly.js that chart pages inline, so they work offline (Tablesaw's own pages point at a CDN). The same copy
 * notebooks use: environment/plotly.sh puts npm's plotly.js-dist-min {@value #VERSION} at
 * {@code $TINYRT_TOOLS/plotly/plotly-VERSION.min.js} (default {@code ~/.local/share/tinyrt}); {@code TINYRT_PLOTLY_JS}
 * names another file. 2.35.3 exactly: plotly.js 3.x drops the chart titles Tablesaw writes.
 */
public final class PlotlyBundle {
    public static final String VERSION = "2.35.3";

    private PlotlyBundle() {
    }

    public static Path location() {
        String explicit = System.getenv("TINYRT_PLOTLY_JS");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String tools = System.getenv("TINYRT_TOOLS");
        Path base = tools != null && !tools.isBlank() ? Path.of(tools)
                : Path.of(System.getProperty("user.home"), ".local", "share", "tinyrt");
        return base.resolve("plotly").resolve("plotly-" + VERSION + ".min.js");
    }

    /** The bundle's source, checked to be plotly.js {@value #VERSION}. */
    public static String load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("plotly.js " + VERSION + " not found at " + file
                    + "; run bash environment/plotly.sh (or set TINYRT_PLOTLY_JS)");
        }
        try {
            String source = Files.readString(file, StandardCharsets.UTF_8);
            if (!source.substring(0, Math.min(200, source.length())).contains("plotly.js v" + VERSION)) {
                throw new TinyrtException(file + " is not plotly.js " + VERSION);
            }
            return source;
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
