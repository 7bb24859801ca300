package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Provenance every committed result carries: machine, runtime, date, commit and the exact command, so each
 * number can be traced and regenerated. Where the checkout has no .git (the copy sent to the GPU machine), the
 * commit and cleanliness come from {@code TINYRT_COMMIT} (preferred whenever set) and {@code TINYRT_WORKTREE_CLEAN=true}.
 */
public final class RunInfo {
    private RunInfo() {
    }

    public static ObjectNode collect(String command) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        n.put("command", command);
        String commit;
        String dirty;
        if (System.getenv("TINYRT_COMMIT") != null) {
            // a copied tree (the GPU machine): the packing step recorded both; a .git there may be stale
            commit = System.getenv("TINYRT_COMMIT");
            dirty = "true".equals(System.getenv("TINYRT_WORKTREE_CLEAN")) ? "" : null;
        } else {
            commit = git("rev-parse", "HEAD");
            dirty = git("status", "--porcelain", "--untracked-files=no");
        }
        n.put("commit", commit);
        n.put("worktree_clean", dirty != null && dirty.isEmpty());
        ObjectNode m = n.putObject("machine");
        m.put("cpu", cpuModel());
        m.put("logical_cores", Runtime.getRuntime().availableProcessors());
        m.put("memory_gib", Math.round(totalMemoryBytes() / (1024.0 * 1024 * 1024) * 10) / 10.0);
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("arch", System.getProperty("os.arch"));
        ObjectNode j = n.putObject("java");
        j.put("version", Runtime.version().toString());
        j.put("vendor", System.getProperty("java.vendor"));
        j.put("vector_bits", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        return n;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    static long totalMemoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** Output of a git command in the current directory, or null when git or the repository is missing. */
    static String git(String... args) {
        try {
            List<String> cmd = new java.util.ArrayList<>(List.of("git"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return null;
            }
            return out;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
