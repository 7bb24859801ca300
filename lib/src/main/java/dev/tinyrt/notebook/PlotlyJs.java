package dev.tinyrt.notebook;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The plotly.js bundle that notebooks inline (the CDN that Tablesaw's pages point at is unreachable offline).
 * environment/jupyter/setup_jupyter.sh puts npm's plotly.js-dist-min {@value #VERSION} at
 * {@code $TINYRT_TOOLS/plotly/} (default {@code ~/.local/share/tinyrt/plotly/}); {@code TINYRT_PLOTLY_JS} or the
 * system property {@code tinyrt.plotly.js} name another copy. Only {@value #VERSION} is accepted: plotly.js 3.x
 * no longer draws the chart titles that Tablesaw writes.
 */
public final class PlotlyJs {
    public static final String VERSION = "2.35.3";
    static final String PROPERTY = "tinyrt.plotly.js";
    static final String ENV = "TINYRT_PLOTLY_JS";

    private final Path file;
    private final String source;

    private PlotlyJs(Path file, String source) {
        this.file = file;
        this.source = source;
    }

    /** The configured copy: system property, then environment, then the set-up's location. */
    public static PlotlyJs locate() {
        return load(location(System.getProperty(PROPERTY), System.getenv(), System.getProperty("user.home")));
    }

    static Path location(String property, Map<String, String> env, String userHome) {
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        if (env.get(ENV) != null && !env.get(ENV).isBlank()) {
            return Path.of(env.get(ENV));
        }
        String tools = env.get("TINYRT_TOOLS");
        Path base = tools != null && !tools.isBlank() ? Path.of(tools) : Path.of(userHome, ".local/share/tinyrt");
        return base.resolve("plotly").resolve("plotly-" + VERSION + ".min.js");
    }

    /** Reads {@code file} and checks that it is plotly.js {@value #VERSION}. */
    public static PlotlyJs load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("plotly.js " + VERSION + " not found at " + file
                    + "; run bash environment/setup.sh (or set " + ENV + ")");
        }
        String source;
        try {
            source = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String head = source.substring(0, Math.min(source.length(), 200));
        if (!head.contains("plotly.js v" + VERSION + "\n")) {
            throw new TinyrtException(file + " is not plotly.js " + VERSION + " (its banner: "
                    + head.lines().limit(2).reduce("", (a, b) -> a + b.trim() + " ").trim() + ")");
        }
        return new PlotlyJs(file, source);
    }

    public Path file() {
        return file;
    }

    /**
     * One {@code <script>} element that defines {@code window.Plotly}. The bundle is a UMD module: where the page
     * has an AMD loader (classic Jupyter and nbconvert's HTML load require.js) it would register itself with the
     * loader instead of setting {@code window.Plotly}, so {@code define}, {@code module} and {@code exports} are
     * hidden from it. A literal {@code </script} would end the element early; it is escaped (none is in 2.35.3).
     */
    public String scriptElement() {
        return "<script>/* plotly.js " + VERSION + " (MIT licence), inlined by tinyrt */\n"
                + "(function (define, module, exports) {\n"
                + source.replace("</script", "<\\/script")
                + "\n}).call(window);\n</script>\n";
    }
}
