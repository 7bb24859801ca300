package dev.tinyrt.notebook;

import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HtmlTableTest {
    static Table tokens() {
        return Table.create("tokens <top-5>",
                IntColumn.create("id", 450, 7483, 310),
                StringColumn.create("piece", "▁The", "<0x0A>", "a&b\"'"),
                DoubleColumn.create("logprob", -0.5, -1.25, -3.0));
    }

    @Test
    void rendersCaptionHeaderAndEveryCellEscaped() {
        String html = HtmlTable.render(tokens(), 10);
        assertTrue(html.contains("<caption>tokens &lt;top-5&gt;</caption>"), html);
        assertTrue(html.contains("<thead><tr><th>id</th><th>piece</th><th>logprob</th></tr></thead>"), html);
        assertTrue(html.contains("<tr><td style=\"text-align:right\">7483</td><td style=\"text-align:left\">&lt;0x0A&gt;</td>"
                + "<td style=\"text-align:right\">-1.25</td></tr>"), html);
        assertTrue(html.contains(">a&amp;b&quot;&#39;</td>"), html);
        assertTrue(html.contains(">▁The</td>"), html);
        assertEquals(3, html.split("<tr>", -1).length - 2, "three body rows and the header row");
        assertFalse(html.contains("more rows"));
    }

    @Test
    void longTablesAreCutAndSaySo() {
        String html = HtmlTable.render(tokens(), 1);
        assertTrue(html.contains(">450<") && !html.contains(">7483<"), html);
        assertTrue(html.endsWith("<p>2 more rows</p>\n"), html);
        assertThrows(IllegalArgumentException.class, () -> HtmlTable.render(tokens(), -1));
    }

    @Test
    void unnamedTablesHaveNoCaption() {
        Table t = Table.create(IntColumn.create("n", 1));
        assertFalse(HtmlTable.render(t, 5).contains("<caption>"));
    }
}
