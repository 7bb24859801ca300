package dev.tinyrt.notebook;

import tech.tablesaw.api.Table;
import tech.tablesaw.plotly.components.Figure;

import java.util.UUID;
import java.util.function.Supplier;

/**
 * HTML for one notebook's outputs. The first figure carries plotly.js (about 4.5 MB) and every later one uses
 * it, so an exported notebook holds the library once however many charts it draws. Outputs are appended to the
 * page in order, which is what makes "first figure" well defined; {@link #reset()} starts over, for a notebook
 * whose first chart output was cleared.
 */
public final class NotebookHtml {
    public static final int DEFAULT_MAX_ROWS = 50;

    private final Supplier<PlotlyJs> plotly;
    // element ids must be unique on the page and usable in a JavaScript name (Tablesaw derives "target_" + id)
    private final String idPrefix = "tinyrt_figure_" + UUID.randomUUID().toString().substring(0, 8) + "_";
    private boolean plotlyInlined;
    private int figures;

    public NotebookHtml(Supplier<PlotlyJs> plotly) {
        this.plotly = plotly;
    }

    /** A {@code <div>} with the figure drawn into it, preceded by plotly.js for the notebook's first figure. */
    public synchronized String figure(Figure figure) {
        String id = idPrefix + (++figures);
        StringBuilder html = new StringBuilder();
        if (!plotlyInlined) {
            html.append(plotly.get().scriptElement());
            plotlyInlined = true;
        }
        return html.append(figure.divString(id)).append('\n').append(figure.asJavascript(id)).toString();
    }

    public String table(Table table) {
        return HtmlTable.render(table, DEFAULT_MAX_ROWS);
    }

    public String table(Table table, int maxRows) {
        return HtmlTable.render(table, maxRows);
    }

    /** The next figure inlines plotly.js again. */
    public synchronized void reset() {
        plotlyInlined = false;
    }
}
