package dev.tinyrt.io.hub;

import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Include patterns with the semantics huggingface_hub's {@code allow_patterns} have (Python fnmatch): {@code *}
 * also crosses '/', {@code ?} is one character, {@code [abc]} / {@code [!abc]} are classes, and a pattern ending
 * in '/' means everything under that folder. java.nio's glob differs ({@code *} stops at '/'), hence this class.
 */
final class Globs {
    private Globs() {
    }

    /** A predicate accepting names that match any of {@code globs}; no globs accept everything. */
    static Predicate<String> anyOf(List<String> globs) {
        if (globs == null || globs.isEmpty()) {
            return name -> true;
        }
        List<Pattern> patterns = globs.stream().map(Globs::toRegex).toList();
        return name -> patterns.stream().anyMatch(p -> p.matcher(name).matches());
    }

    static Pattern toRegex(String glob) {
        String g = glob.endsWith("/") ? glob + "*" : glob;
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < g.length(); i++) {
            char c = g.charAt(i);
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                case '[' -> {
                    int close = g.indexOf(']', i + 2);
                    if (close < 0) {
                        re.append("\\[");
                    } else {
                        String body = g.substring(i + 1, close);
                        boolean negate = body.startsWith("!");
                        body = (negate ? body.substring(1) : body).replace("\\", "\\\\").replace("[", "\\[");
                        re.append('[').append(negate ? "^" : "").append(body).append(']');
                        i = close;
                    }
                }
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
