package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA backend's host side end to end, without a GPU: a child JVM loads a fake driver and cuBLAS compiled here
 * from lib/src/test/native (every FFM signature is exercised, every kernel launch is checked against the kernel's
 * arguments and the memory it would touch, graphs are recorded and replayed, all memory must be released) and runs
 * {@link FakeDriverScenario}. Needs gcc and the built kernels (the fake resolves kernel names in the real fatbin).
 */
class FakeDriverTest {
    private static final Path NATIVE = Path.of("src/test/native");
    private static final Path OUT = Path.of("target/fake-cuda");

    private static boolean gcc() {
        try {
            return new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void run(List<String> command, Path log) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out: " + command);
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\n" + Files.readString(log));
    }

    @Test
    void theHostSideRunsCleanlyAgainstAFakeDriver() throws Exception {
        assumeTrue(gcc(), "no gcc to build the fake driver");
        assumeTrue(KernelImage.present(), "kernels not built (no nvcc)");
        Path lib64 = OUT.resolve("lib64");
        Files.createDirectories(lib64);
        Path log = OUT.resolve("build.log");
        run(List.of("gcc", "-O1", "-Wall", "-Werror", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o",
                OUT.resolve("libcuda.so.1").toString(), NATIVE.resolve("fake_cuda.c").toString(), "-lm"), log);
        run(List.of("gcc", "-O1", "-Wall", "-Werror", "-shared", "-fPIC", "-o", lib64.resolve("libcublas.so.13").toString(),
                NATIVE.resolve("fake_cublas.c").toString(), "-L" + OUT.toAbsolutePath(), "-l:libcuda.so.1",
                "-Wl,-rpath," + OUT.toAbsolutePath()), log);
        run(List.of("gcc", "-shared", "-fPIC", "-o", lib64.resolve("libcublasLt.so.13").toString(), "-x", "c",
                "/dev/null"), log);

        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx2g", "-cp",
                classPath, FakeDriverScenario.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(java).redirectErrorStream(true);
        pb.environment().put("LD_LIBRARY_PATH", OUT.toAbsolutePath().toString());
        pb.environment().put("CUDA_HOME", OUT.toAbsolutePath().toString());
        pb.environment().put("OPT_OUT_TRACKING", "true");
        Path out = OUT.resolve("scenario.log");
        pb.redirectOutput(out.toFile());
        Process p = pb.start();
        boolean finished = p.waitFor(8, TimeUnit.MINUTES);
        if (!finished) {
            p.destroyForcibly();
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertTrue(finished, "scenario timed out:\n" + tail(text));
        assertEquals(0, p.exitValue(), "scenario failed:\n" + tail(text));
        assertTrue(text.contains("FAKE-DRIVER SCENARIO PASSED"), tail(text));
        assertTrue(!text.contains("[fake-cuda] INVALID") && !text.contains("[fake-cublas] INVALID"), tail(text));
    }

    private static String tail(String s) {
        return s.length() > 20000 ? s.substring(s.length() - 20000) : s;
    }
}
