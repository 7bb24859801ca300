package dev.tinyrt.report;

import dev.tinyrt.notebook.PlotlyJs;
import tech.tablesaw.plotly.components.Figure;

import java.util.List;

/**
 * A self-contained HTML page of Plotly figures: plotly.js inlined once (no network needed to view it; the copy
 * notebooks use, {@link PlotlyJs}), then each figure's div and drawing script as Tablesaw writes them.
 */
public final class ChartPage {
    private ChartPage() {
    }

    public static String html(String title, List<Figure> figures, PlotlyJs plotly) {
        StringBuilder page = new StringBuilder();
        page.append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(escape(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:16px;background:#fff}</style>\n")
                .append(plotly.scriptElement()).append("</head>\n<body>\n");
        for (int i = 0; i < figures.size(); i++) {
            String id = "figure" + i;
            page.append(figures.get(i).divString(id)).append('\n').append(figures.get(i).asJavascript(id))
                    .append('\n');
        }
        return page.append("</body>\n</html>\n").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
