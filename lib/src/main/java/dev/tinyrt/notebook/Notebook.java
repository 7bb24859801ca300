package dev.tinyrt.notebook;

import tech.tablesaw.api.Table;
import tech.tablesaw.plotly.components.Figure;

/**
 * What notebook cells call to show tables and charts, through the kernel's {@code display}:
 * <pre>{@code
 * display("text/html", Notebook.figure(figure));
 * display("text/html", Notebook.table(table));
 * }</pre>
 * One kernel runs one notebook, so one {@link NotebookHtml} per JVM inlines plotly.js once per notebook.
 */
public final class Notebook {
    private static final NotebookHtml HTML = new NotebookHtml(PlotlyJs::locate);

    private Notebook() {
    }

    public static String figure(Figure figure) {
        return HTML.figure(figure);
    }

    public static String table(Table table) {
        return HTML.table(table);
    }

    public static String table(Table table, int maxRows) {
        return HTML.table(table, maxRows);
    }

    /** The next figure carries plotly.js again (after its first chart's output was cleared). */
    public static void reset() {
        HTML.reset();
    }
}
