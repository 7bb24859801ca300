package dev.tinyrt.report;

import dev.tinyrt.bench.Stats;

import java.util.Locale;

/** Number formats shared by tables. */
final class Format {
    private Format() {
    }

    /** Three significant figures, at least the integer part: 20.6, 156, 1253, 0.0412. */
    static String sig(double v) {
        if (v == 0 || !Double.isFinite(v)) {
            return v == 0 ? "0" : "–";
        }
        double a = Math.abs(v);
        int decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - (int) Math.floor(Math.log10(a)));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String range(Stats s) {
        return sig(s.min()) + "–" + sig(s.max());
    }

    static String median(Stats s) {
        return s.count() > 1 ? sig(s.median()) + " (" + range(s) + ")" : sig(s.median());
    }

    static String mib(Long bytes) {
        return bytes == null ? "–" : sig(bytes / (1024.0 * 1024)) + " MiB";
    }
}
