package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA backend without a GPU, against a fake driver and cuBLAS built here by gcc from lib/src/test/native, in a
 * child JVM whose loader finds them first. Every FFM signature is exercised, every kernel launch and GEMM is checked
 * against the arguments and memory the kernel would touch, graphs are recorded and replayed, all memory must be
 * released ({@link FakeDriverScenario}). In the slow variant the fake also executes the real kernel sources on the
 * CPU (emu.h), and the GPU self-test and HF parity must pass ({@link EmulatedScenario}). Needs gcc and the built
 * kernels (the fake resolves kernel names in the real fatbin).
 */
class FakeDriverTest {
    private static final Path NATIVE = Path.of("src/test/native");

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

    /** Builds libcuda.so.1 (with the kernel emulator or without), libcublas.so.13 and libcublasLt.so.13 into out. */
    static void buildFakes(Path out, boolean emulate) throws Exception {
        assumeTrue(gcc(), "no gcc to build the fake driver");
        assumeTrue(KernelImage.present(), "kernels not built (no nvcc)");
        Path lib64 = out.resolve("lib64");
        Files.createDirectories(lib64);
        Path log = out.resolve("build.log");
        Path driverObject = out.resolve("fake_cuda.o");
        run(List.of("gcc", "-O2", "-Wall", "-Werror", "-fPIC", "-c", "-o", driverObject.toString(),
                NATIVE.resolve("fake_cuda.c").toString()), log);
        List<String> link = new ArrayList<>(List.of("g++", "-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o",
                out.resolve("libcuda.so.1").toString(), driverObject.toString()));
        if (emulate) {
            Path emuObject = out.resolve("emu_kernels.o");
            run(List.of("g++", "-std=c++20", "-O2", "-fno-strict-aliasing", "-Wall", "-Wno-unused-function",
                    "-Wno-unknown-pragmas", "-fPIC",
                    "-I/usr/local/cuda/include", "-c", "-o", emuObject.toString(),
                    NATIVE.resolve("emu_kernels.cpp").toString()), log);
            link.add(emuObject.toString());
        }
        link.add("-lm");
        run(link, log);
        run(List.of("gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", lib64.resolve("libcublas.so.13").toString(),
                NATIVE.resolve("fake_cublas.c").toString(), "-L" + out.toAbsolutePath(), "-l:libcuda.so.1",
                "-Wl,-rpath," + out.toAbsolutePath()), log);
        run(List.of("gcc", "-shared", "-fPIC", "-o", lib64.resolve("libcublasLt.so.13").toString(), "-x", "c",
                "/dev/null"), log);
    }

    private static final Map<Boolean, Path> BUILT = new HashMap<>();

    /**
     * The fakes, emulating the kernels or not, built once per test JVM (into target/fake-cuda or
     * target/fake-cuda-emulated) and shared by every scenario: the emulating build compiles all kernel sources,
     * about a minute on a 2-core machine.
     */
    static synchronized Path fakes(boolean emulate) throws Exception {
        Path built = BUILT.get(emulate);
        if (built == null) {
            built = Path.of(emulate ? "target/fake-cuda-emulated" : "target/fake-cuda");
            buildFakes(built, emulate);
            BUILT.put(emulate, built);
        }
        return built;
    }

    @Test
    void theHostSideRunsCleanlyAgainstAFakeDriver() throws Exception {
        Path out = fakes(false);
        String text = scenario(out, FakeDriverScenario.class);
        assertTrue(text.contains("FAKE-DRIVER SCENARIO PASSED"), tail(text));
        assertTrue(!text.contains("[fake-cuda] INVALID") && !text.contains("[fake-cublas] INVALID"), tail(text));
    }

    @Test
    @Tag("slow")
    void theKernelsPassTheSelfTestAndParityWhenEmulatedOnTheCpu() throws Exception {
        String text = scenario(fakes(true), EmulatedScenario.class);
        assertTrue(text.contains("EMULATED SCENARIO PASSED"), tail(text));
    }

    @Test
    void theBatchedDecodeAttentionMatchesTheCpuAndIsBatchInvariantWhenEmulated() throws Exception {
        String text = scenario(fakes(true), EmulatedBatchAttentionScenario.class);
        assertTrue(text.contains("BATCHED ATTENTION SCENARIO PASSED"), tail(text));
    }

    @Test
    void theDecodeKernelsPassWhenEmulatedOnOneMultiprocessorWithGemvsWalkingRowGroups() throws Exception {
        Path out = fakes(true);
        Map<String, String> oneSm = Map.of("FAKE_CUDA_SMS", "1");
        // two child JVMs at once (the emulator runs on one thread): the unquantized models with the fused boundaries
        // and attention, and the quantized models with the argmax (ties inside a thread's float4 loads)
        Started plain = start(out, EmulatedDecodeKernelsScenario.class, oneSm, "plain",
                "fused_boundaries,attention,models");
        Started quantized = start(out, EmulatedDecodeKernelsScenario.class, oneSm, "quantized",
                "quantized_models,argmax");
        for (String text : List.of(finish(plain), finish(quantized))) {
            assertTrue(text.contains("DECODE KERNELS SCENARIO PASSED"), tail(text));
        }
    }

    /** Runs main of {@code scenario} in a child JVM that loads the fakes in {@code out}; returns its output. */
    static String scenario(Path out, Class<?> scenario) throws Exception {
        return scenario(out, scenario, Map.of());
    }

    /** As {@link #scenario(Path, Class)} with extra environment variables for the child (and the fakes). */
    static String scenario(Path out, Class<?> scenario, Map<String, String> env) throws Exception {
        return finish(start(out, scenario, env, null));
    }

    /**
     * Starts main of {@code scenario} with {@code args} in a child JVM that loads the fakes in {@code out}, its
     * output going to {@code out/<scenario>[-<tag>].log}.
     */
    static Started start(Path out, Class<?> scenario, Map<String, String> env, String tag, String... args)
            throws IOException {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xmx2g", "-cp",
                classPath, scenario.getName()));
        java.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(java).redirectErrorStream(true);
        pb.environment().put("LD_LIBRARY_PATH", out.toAbsolutePath().toString());
        pb.environment().put("CUDA_HOME", out.toAbsolutePath().toString());
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().putAll(env);
        Path log = out.resolve(scenario.getSimpleName() + (tag == null ? "" : "-" + tag) + ".log");
        pb.redirectOutput(log.toFile());
        return new Started(pb.start(), log);
    }

    /** A scenario's child JVM and the file its output goes to. */
    record Started(Process process, Path log) {
    }

    /** Waits for a started scenario (failing on a timeout or a non-zero exit) and returns its output. */
    static String finish(Started started) throws Exception {
        Process p = started.process();
        // a hang guard: the emulated self-test plus the tinyrt-12m parity run past 15 minutes on a 2-core machine
        boolean finished = p.waitFor(30, TimeUnit.MINUTES);
        if (!finished) {
            p.destroyForcibly();
        }
        String text = Files.readString(started.log(), StandardCharsets.UTF_8);
        assertTrue(finished, "scenario timed out:\n" + tail(text));
        assertEquals(0, p.exitValue(), "scenario failed:\n" + tail(text));
        return text;
    }

    static String tail(String s) {
        return s.length() > 20000 ? s.substring(s.length() - 20000) : s;
    }
}
