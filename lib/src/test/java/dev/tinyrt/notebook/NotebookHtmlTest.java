package dev.tinyrt.notebook;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.plotly.components.Figure;
import tech.tablesaw.plotly.components.Layout;
import tech.tablesaw.plotly.traces.BarTrace;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NotebookHtmlTest {
    static final String BODY = "window.Plotly={newPlot:function(){}};";

    static Figure bars(String title) {
        return new Figure(Layout.builder().title(title).build(),
                BarTrace.builder(new Object[]{"a", "b"}, new double[]{1.5, -2}).build());
    }

    static String divId(String html) {
        Matcher m = Pattern.compile("<div id='([^']+)'").matcher(html);
        assertTrue(m.find(), html);
        return m.group(1);
    }

    @Test
    void plotlyIsInlinedWithTheFirstFigureOnly(@TempDir Path dir) throws IOException {
        Path bundle = PlotlyJsTest.fakeBundle(dir, BODY);
        AtomicInteger loads = new AtomicInteger();
        var html = new NotebookHtml(() -> {
            loads.incrementAndGet();
            return PlotlyJs.load(bundle);
        });
        assertEquals(0, loads.get(), "nothing is read before a figure is drawn");
        String first = html.figure(bars("log-probabilities"));
        String second = html.figure(bars("timings"));
        assertTrue(first.contains(BODY) && first.indexOf(BODY) < first.indexOf("<div id="), first);
        assertFalse(second.contains(BODY), second);
        assertEquals(1, loads.get());
        assertTrue(first.contains("log-probabilities") && second.contains("timings"));

        html.reset();
        assertTrue(html.figure(bars("again")).contains(BODY));
    }

    @Test
    void eachFigureDrawsIntoItsOwnDivWithAJavaScriptSafeId(@TempDir Path dir) throws IOException {
        Path bundle = PlotlyJsTest.fakeBundle(dir, BODY);
        var html = new NotebookHtml(() -> PlotlyJs.load(bundle));
        String a = html.figure(bars("a"));
        String b = html.figure(bars("b"));
        String idA = divId(a);
        String idB = divId(b);
        assertNotEquals(idA, idB);
        for (String id : new String[]{idA, idB}) {
            assertTrue(id.matches("[A-Za-z_][A-Za-z0-9_]*"), id);
        }
        assertTrue(a.contains("getElementById('" + idA + "')") && a.contains("Plotly.newPlot(target_" + idA), a);
        // two notebooks (kernels) never share ids, e.g. when one notebook's outputs are pasted into another's page
        var other = new NotebookHtml(() -> PlotlyJs.load(bundle));
        assertNotEquals(idA, divId(other.figure(bars("a"))));
    }

    @Test
    void tablesNeedNoPlotly() {
        var html = new NotebookHtml(() -> {
            throw new AssertionError("plotly.js must not be read for a table");
        });
        Table t = Table.create("t", StringColumn.create("k", "x"), DoubleColumn.create("v", 1.0));
        assertTrue(html.table(t).contains(">x</td>"), html.table(t));
    }
}
