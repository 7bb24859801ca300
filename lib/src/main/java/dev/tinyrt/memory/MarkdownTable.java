package dev.tinyrt.memory;

import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/** A Tablesaw table as a GitHub Markdown table: numbers right-aligned, pipes in text escaped. */
public final class MarkdownTable {
    private MarkdownTable() {
    }

    public static String render(Table table) {
        StringBuilder md = new StringBuilder("|");
        for (Column<?> c : table.columns()) {
            md.append(' ').append(escape(c.name())).append(" |");
        }
        md.append("\n|");
        for (Column<?> c : table.columns()) {
            md.append(c instanceof NumericColumn<?> ? " ---: |" : " --- |");
        }
        md.append('\n');
        for (int r = 0; r < table.rowCount(); r++) {
            md.append('|');
            for (Column<?> c : table.columns()) {
                md.append(' ').append(escape(c.getString(r))).append(" |");
            }
            md.append('\n');
        }
        return md.toString();
    }

    private static String escape(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
