package dev.tinyrt.report;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces the text between {@code <!-- BEGIN generated:NAME -->} and {@code <!-- END generated:NAME -->} in a
 * Markdown file, so tables in the README are always regenerated from data/results and never typed by hand.
 */
public final class GeneratedSections {
    private static final Pattern SECTION = Pattern.compile(
            "(<!-- BEGIN generated:([a-z0-9_-]+) -->\\n)(.*?)(<!-- END generated:\\2 -->)", Pattern.DOTALL);

    private GeneratedSections() {
    }

    /** The document with every named section replaced; unknown names are an error, missing ones are left alone. */
    public static String apply(String document, Map<String, String> sections) {
        Matcher m = SECTION.matcher(document);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(2);
            String body = sections.get(name);
            if (body == null) {
                throw new TinyrtException("no generator for section \"" + name + "\"; known: " + sections.keySet());
            }
            String text = body.endsWith("\n") ? body : body + "\n";
            m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + text + m.group(4)));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Rewrites the file in place; returns true when its content changed. */
    public static boolean rewrite(Path file, Map<String, String> sections) {
        try {
            String before = Files.readString(file, StandardCharsets.UTF_8);
            String after = apply(before, sections);
            if (after.equals(before)) {
                return false;
            }
            Files.writeString(file, after, StandardCharsets.UTF_8);
            return true;
        } catch (IOException e) {
            throw new TinyrtException("cannot rewrite " + file + ": " + e.getMessage(), e);
        }
    }
}
