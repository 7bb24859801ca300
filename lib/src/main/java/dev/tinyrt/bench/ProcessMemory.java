package dev.tinyrt.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory from /proc/self/status (Linux): everything it has touched — Java heap,
 * memory-mapped weights that were read, off-heap arenas (KV cache, converted weights), thread stacks.
 */
public final class ProcessMemory {
    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcessMemory() {
    }

    /** VmRSS in bytes, or -1 where /proc is not available. */
    public static long residentBytes() {
        return field("VmRSS:");
    }

    static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
                if (line.startsWith(name)) {
                    return Long.parseLong(line.substring(name.length()).replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }
}
