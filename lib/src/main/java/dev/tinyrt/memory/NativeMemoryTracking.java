package dev.tinyrt.memory;

import javax.management.JMException;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JVM's own account of its native memory (NMT), read in process through the DiagnosticCommand MBean (what
 * {@code jcmd PID VM.native_memory summary} prints). Needs {@code -XX:NativeMemoryTracking=summary} at start-up and
 * the jdk.management module; otherwise {@link #summary()} is empty.
 */
public final class NativeMemoryTracking {
    private static final Pattern CATEGORY = Pattern.compile(
            "^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)", Pattern.MULTILINE);
    private static final Pattern TOTAL = Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB",
            Pattern.MULTILINE);
    /** Key of the grand total in {@link #parse}'s map. */
    public static final String TOTAL_KEY = "Total";

    private NativeMemoryTracking() {
    }

    /** Committed bytes per NMT category (plus {@value #TOTAL_KEY}), or an empty map when NMT is off. */
    public static Map<String, Long> summary() {
        try {
            Object text = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[]{new String[]{"summary"}}, new String[]{String[].class.getName()});
            return parse(String.valueOf(text));
        } catch (JMException | RuntimeException e) {
            return Map.of();  // no jdk.management module, or a JVM without the command
        }
    }

    /** Committed bytes per category of a {@code VM.native_memory summary} report. */
    static Map<String, Long> parse(String report) {
        Map<String, Long> committed = new LinkedHashMap<>();
        Matcher total = TOTAL.matcher(report);
        if (!total.find()) {
            return Map.of();  // "Native memory tracking is not enabled"
        }
        committed.put(TOTAL_KEY, Long.parseLong(total.group(2)) * 1024);
        Matcher m = CATEGORY.matcher(report);
        while (m.find()) {
            committed.put(m.group(1).trim(), Long.parseLong(m.group(3)) * 1024);
        }
        return committed;
    }
}
