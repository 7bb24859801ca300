package dev.tinyrt.memory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

/** Readers of Linux's per-process memory files: /proc/self/status and /proc/self/smaps. */
final class ProcFiles {
    static final Path STATUS = Path.of("/proc/self/status");
    static final Path SMAPS = Path.of("/proc/self/smaps");

    private ProcFiles() {
    }

    /** A {@code kB} field of /proc/self/status ("VmRSS", "RssAnon", "RssFile", ...) in bytes; -1 when absent. */
    static long statusField(List<String> status, String field) {
        for (String line : status) {
            if (line.startsWith(field + ":")) {
                String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                return Long.parseLong(parts[0]) * 1024;
            }
        }
        return -1;
    }

    /** Resident bytes of the mappings whose file path passes {@code file}, summed from smaps' Rss lines. */
    static long mappedRss(List<String> smaps, Predicate<String> file) {
        return mapped(smaps, file, "Rss:");
    }

    /** Mapped (virtual) bytes of those mappings, from smaps' Size lines. */
    static long mappedSize(List<String> smaps, Predicate<String> file) {
        return mapped(smaps, file, "Size:");
    }

    private static long mapped(List<String> smaps, Predicate<String> file, String field) {
        long total = 0;
        boolean counting = false;
        for (String line : smaps) {
            if (isMappingHeader(line)) {
                String[] parts = line.trim().split("\\s+", 6);
                counting = parts.length == 6 && file.test(parts[5]);
            } else if (counting && line.startsWith(field)) {
                total += Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]) * 1024;
            }
        }
        return total;
    }

    /** "7f12a000-7f12b000 r--s 00000000 08:01 1234 /path": an address range starts every mapping's block. */
    private static boolean isMappingHeader(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        if (dash <= 0 || space <= dash) {
            return false;
        }
        for (int i = 0; i < space; i++) {
            char c = line.charAt(i);
            if (i != dash && Character.digit(c, 16) < 0) {
                return false;
            }
        }
        return true;
    }

    static List<String> read(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return List.of();  // not Linux
        }
    }
}
