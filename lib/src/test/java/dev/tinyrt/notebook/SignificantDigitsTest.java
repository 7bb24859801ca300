package dev.tinyrt.notebook;

import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Table;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SignificantDigitsTest {
    private final SignificantDigits four = new SignificantDigits(4);

    @Test
    void showsTheSignificantDigitsWithTrailingZeros() {
        assertEquals("0.1235", four.text(0.123456789));
        assertEquals("99.63", four.text(99.63373124310849));
        assertEquals("1.000", four.text(1.0));
        assertEquals("0.5000", four.text(0.5));
        assertEquals("0.04910", four.text(0.0491));
        assertEquals("-3.142", four.text(-3.14159));
        assertEquals("0.0001235", four.text(1.234567e-4));
    }

    @Test
    void wholeNumbersKeepAllDigitsGrouped() {
        assertEquals("12,346", four.text(12345.6789));
        assertEquals("44,130", four.text(44130));
        assertEquals("123,456,789,012", four.text(123456789012.0));
    }

    @Test
    void tinyAndHugeMagnitudesAreScientific() {
        assertEquals("2.508e-05", four.text(2.50784812452213e-5));
        assertEquals("1.000e+20", four.text(1e20));
        assertEquals("-5.0e-07", new SignificantDigits(2).text(-5e-7));
    }

    @Test
    void specialValues() {
        assertEquals("0", four.text(0));
        assertEquals("NaN", four.text(Double.NaN));
        assertEquals("∞", four.text(Double.POSITIVE_INFINITY));
        assertEquals("-∞", four.text(Double.NEGATIVE_INFINITY));
    }

    @Test
    void appliesToEveryDoubleColumnOfATableAndLeavesOthers() {
        Table t = Table.create("t", IntColumn.create("n", new int[]{12345}), DoubleColumn.create("x", new double[]{0.0491}),
                DoubleColumn.create("y", new double[]{Double.NaN}));
        SignificantDigits.apply(t, 3);
        assertEquals("12345", t.intColumn("n").getString(0));
        assertEquals("0.0491", t.doubleColumn("x").getString(0));
        assertEquals("", t.doubleColumn("y").getString(0));
        String html = HtmlTable.render(t, 10);
        assertEquals(true, html.contains(">0.0491</td>"), html);
    }

    @Test
    void digitsOutOfRangeAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new SignificantDigits(0));
        assertThrows(IllegalArgumentException.class, () -> new SignificantDigits(18));
    }

    @Test
    void formatsLongsAsNumbers() {
        assertEquals("1,234,567", four.format(1234567L));
    }
}
