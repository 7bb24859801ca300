package dev.tinyrt.notebook;

import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.Table;

import java.math.BigDecimal;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.Locale;

/**
 * Prints numbers with a fixed count of significant digits, so one table can show 0.0000251 and 44,130 alike
 * (Tablesaw prints a double's every digit, or a fixed count of decimals that turns small values into 0.000).
 * Magnitudes from 10⁻⁴ up to 10¹⁵ print plainly, with grouping, and whole numbers keep all their digits (12,346
 * with 4 digits); others print in scientific notation.
 */
public final class SignificantDigits extends NumberFormat {
    private final int digits;

    public SignificantDigits(int digits) {
        if (digits < 1 || digits > 17) {
            throw new IllegalArgumentException("significant digits must be in 1..17, got " + digits);
        }
        this.digits = digits;
    }

    /** Sets this format on every double column of {@code table} (NaN prints as an empty cell); returns the table. */
    public static Table apply(Table table, int digits) {
        SignificantDigits format = new SignificantDigits(digits);
        for (var column : table.columns()) {
            if (column instanceof DoubleColumn d) {
                d.setPrintFormatter(format, "");
            }
        }
        return table;
    }

    /** {@code value} with this format's significant digits. */
    public String text(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "∞" : "-∞";
        }
        if (value == 0) {
            return "0";
        }
        double magnitude = Math.abs(value);
        if (magnitude < 1e-4 || magnitude >= 1e15) {
            return String.format(Locale.ROOT, "%." + (digits - 1) + "e", value);
        }
        // digits after the point so that `digits` significant ones show; whole numbers keep all their digits
        int exponent = new BigDecimal(value).precision() - new BigDecimal(value).scale() - 1;
        int decimals = Math.max(0, digits - 1 - exponent);
        return String.format(Locale.ROOT, "%,." + decimals + "f", value);
    }

    @Override
    public StringBuffer format(double number, StringBuffer toAppendTo, FieldPosition pos) {
        return toAppendTo.append(text(number));
    }

    @Override
    public StringBuffer format(long number, StringBuffer toAppendTo, FieldPosition pos) {
        return toAppendTo.append(text((double) number));
    }

    @Override
    public Number parse(String source, ParsePosition parsePosition) {
        throw new UnsupportedOperationException("SignificantDigits only formats");
    }
}
