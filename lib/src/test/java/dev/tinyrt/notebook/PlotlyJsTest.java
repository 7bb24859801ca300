package dev.tinyrt.notebook;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class PlotlyJsTest {
    static final String BANNER = "/**\n* plotly.js v2.35.3\n* Copyright 2012-2024, Plotly, Inc.\n*/\n";

    static Path fakeBundle(Path dir, String body) throws IOException {
        Path file = dir.resolve("plotly.min.js");
        Files.writeString(file, BANNER + body);
        return file;
    }

    @Test
    void locationPrefersPropertyThenEnvironmentThenToolsDirectory() {
        assertEquals(Path.of("/p.js"), PlotlyJs.location("/p.js", Map.of(PlotlyJs.ENV, "/e.js"), "/home/u"));
        assertEquals(Path.of("/e.js"), PlotlyJs.location(null, Map.of(PlotlyJs.ENV, "/e.js", "TINYRT_TOOLS", "/t"), "/home/u"));
        assertEquals(Path.of("/t/plotly/plotly-2.35.3.min.js"), PlotlyJs.location("", Map.of("TINYRT_TOOLS", "/t"), "/home/u"));
        assertEquals(Path.of("/home/u/.local/share/tinyrt/plotly/plotly-2.35.3.min.js"),
                PlotlyJs.location(null, Map.of(), "/home/u"));
    }

    @Test
    void missingFileNamesTheSetUpCommand(@TempDir Path dir) {
        var e = assertThrows(TinyrtException.class, () -> PlotlyJs.load(dir.resolve("nope.js")));
        assertTrue(e.getMessage().contains("not found") && e.getMessage().contains("environment/setup.sh"), e.getMessage());
    }

    @Test
    void otherVersionsAreRefused(@TempDir Path dir) throws IOException {
        Path v3 = dir.resolve("v3.js");
        Files.writeString(v3, "/**\n* plotly.js v3.0.1\n*/\nvar x;");
        var e = assertThrows(TinyrtException.class, () -> PlotlyJs.load(v3));
        assertTrue(e.getMessage().contains("not plotly.js 2.35.3") && e.getMessage().contains("v3.0.1"), e.getMessage());
        // a longer version that merely starts with 2.35.3 is another version
        Files.writeString(v3, "/**\n* plotly.js v2.35.31\n*/\nvar x;");
        assertThrows(TinyrtException.class, () -> PlotlyJs.load(v3));
    }

    @Test
    void scriptElementHidesTheAmdLoaderAndKeepsTheSourceWhole(@TempDir Path dir) throws IOException {
        String body = "!function(t,e){\"function\"==typeof define&&define.amd?define([],e):t.Plotly=e()}(self,f);"
                + "var s=\"</script>\";\n//# sourceMappingURL=x";
        String element = PlotlyJs.load(fakeBundle(dir, body)).scriptElement();
        assertTrue(element.startsWith("<script>"), element);
        assertTrue(element.endsWith("</script>\n"), element);
        // exactly one closing tag: the one that ends the element
        assertEquals(element.indexOf("</script"), element.lastIndexOf("</script"));
        assertTrue(element.contains("var s=\"<\\/script>\";"), element);
        assertTrue(element.contains("(function (define, module, exports) {\n" + BANNER), element);
        // a trailing line comment in the bundle must not swallow the wrapper's end
        assertTrue(element.contains("sourceMappingURL=x\n}).call(window);"), element);
    }

    @Test
    void theInstalledBundleIsVersion2353() {
        Path installed = PlotlyJs.location(System.getProperty(PlotlyJs.PROPERTY), System.getenv(),
                System.getProperty("user.home"));
        assumeTrue(Files.isRegularFile(installed), "plotly.js is installed by environment/setup.sh");
        String element = PlotlyJs.load(installed).scriptElement();
        assertTrue(element.length() > 4_000_000, "the full minified bundle, not a stub: " + element.length());
        assertFalse(element.substring(0, element.length() - "</script>\n".length()).contains("</script"));
    }
}
