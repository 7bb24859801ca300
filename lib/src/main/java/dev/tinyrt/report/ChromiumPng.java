package dev.tinyrt.report;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Renders an HTML page to PNG with headless Chromium (Debian: {@code apt-get install -y chromium}), offline: no
 * first-run, sync, component updates or background networking, a throwaway profile and HOME.
 */
public final class ChromiumPng {
    private final Path binary;

    private ChromiumPng(Path binary) {
        this.binary = binary;
    }

    /** Chromium from {@code TINYRT_CHROMIUM} or the PATH, if installed. */
    public static Optional<ChromiumPng> find() {
        List<String> candidates = new ArrayList<>();
        String configured = System.getenv("TINYRT_CHROMIUM");
        if (configured != null && !configured.isBlank()) {
            candidates.add(configured);
        }
        candidates.addAll(List.of("chromium", "chromium-browser", "google-chrome"));
        String path = System.getenv().getOrDefault("PATH", "");
        for (String c : candidates) {
            if (c.contains("/")) {
                if (Files.isExecutable(Path.of(c))) {
                    return Optional.of(new ChromiumPng(Path.of(c)));
                }
                continue;
            }
            for (String dir : path.split(":")) {
                Path p = Path.of(dir.isEmpty() ? "." : dir, c);
                if (Files.isExecutable(p)) {
                    return Optional.of(new ChromiumPng(p));
                }
            }
        }
        return Optional.empty();
    }

    public void render(Path html, Path png, int width, int height) {
        Path profile = null;
        try {
            profile = Files.createTempDirectory("tinyrt-chromium-");
            List<String> cmd = List.of(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
                    "--window-size=" + width + "," + height, "--virtual-time-budget=10000",
                    "--screenshot=" + png.toAbsolutePath(), html.toAbsolutePath().toUri().toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("HOME", profile.toString());
            Files.deleteIfExists(png);
            Process p = pb.start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new TinyrtException("chromium did not render " + html + " within 2 minutes");
            }
            if (!Files.isRegularFile(png) || Files.size(png) == 0) {
                throw new TinyrtException("chromium wrote no " + png + " (exit " + p.exitValue() + "): "
                        + log.lines().reduce((a, b) -> b).orElse(""));
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot run chromium: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TinyrtException("interrupted while chromium rendered " + html);
        } finally {
            deleteQuietly(profile);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary profile left behind is harmless
        }
    }
}
