package dev.tinyrt.report;

import tech.tablesaw.plotly.components.Figure;

import java.util.List;

/**
 * A self-contained HTML page of Plotly figures: plotly.js inlined once (no network needed to view it), then each
 * figure's div and drawing script as Tablesaw writes them.
 */
public final class ChartPage {
    private ChartPage() {
    }

    public static String html(String title, List<Figure> figures, String plotlyJs) {
        StringBuilder page = new StringBuilder();
        page.append("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(escape(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:16px;background:#fff}</style>\n")
                // A literal "</script" inside the bundle would end the element early (2.35.3 has none).
                .append("<script>/* plotly.js ").append(PlotlyBundle.VERSION).append(" (MIT licence) */\n")
                .append(plotlyJs.replace("</script", "<\\/script")).append("\n</script>\n</head>\n<body>\n");
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
