package dev.tinyrt.notebook;

import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;

/** A Tablesaw table as an HTML {@code <table>}: a caption with the table's name, numbers right-aligned, text left. */
public final class HtmlTable {
    // explicit for both: Jupyter's style sheet right-aligns every cell
    private static final String RIGHT = "<td style=\"text-align:right\">";
    private static final String LEFT = "<td style=\"text-align:left\">";

    private HtmlTable() {
    }

    /** All rows up to {@code maxRows}; a last line says how many more there are. */
    public static String render(Table table, int maxRows) {
        if (maxRows < 0) {
            throw new IllegalArgumentException("maxRows must be >= 0, got " + maxRows);
        }
        StringBuilder html = new StringBuilder("<table class=\"tinyrt-table\">\n");
        if (table.name() != null && !table.name().isBlank()) {
            html.append("<caption>").append(escape(table.name())).append("</caption>\n");
        }
        html.append("<thead><tr>");
        for (var column : table.columns()) {
            html.append("<th>").append(escape(column.name())).append("</th>");
        }
        html.append("</tr></thead>\n<tbody>\n");
        int shown = Math.min(maxRows, table.rowCount());
        for (int row = 0; row < shown; row++) {
            html.append("<tr>");
            for (var column : table.columns()) {
                html.append(column instanceof NumericColumn<?> ? RIGHT : LEFT)
                        .append(escape(column.getString(row))).append("</td>");
            }
            html.append("</tr>\n");
        }
        html.append("</tbody>\n</table>\n");
        if (shown < table.rowCount()) {
            html.append("<p>").append(table.rowCount() - shown).append(" more rows</p>\n");
        }
        return html.toString();
    }

    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
