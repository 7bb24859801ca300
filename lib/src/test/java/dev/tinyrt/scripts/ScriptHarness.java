package dev.tinyrt.scripts;

import dev.tinyrt.cli.CommandRunner;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Compiles a JBang script from jbang-scripts/ against the test class path and runs its picocli command in
 * process, so tests exercise exactly the file users run with {@code jbang}. Scripts follow one convention: the
 * public top-level class is the picocli command and {@code main} only calls {@link CommandRunner#exit}.
 */
public final class ScriptHarness {
    public static final Path SCRIPTS = Path.of("..", "jbang-scripts").toAbsolutePath().normalize();
    private static final Map<String, Class<?>> COMPILED = new HashMap<>();

    public record Result(int exitCode, String out, String err) {
    }

    private ScriptHarness() {
    }

    public static synchronized Result run(String script, String... args) {
        Class<?> type = compile(script);
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            Object command = type.getDeclaredConstructor().newInstance();
            int code = CommandRunner.run(command, args);
            System.out.flush();
            System.err.flush();
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot instantiate script class " + type, e);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static Class<?> compile(String script) {
        return COMPILED.computeIfAbsent(script, s -> {
            try {
                Path source = SCRIPTS.resolve(s);
                Path outDir = Files.createTempDirectory("tinyrt-script-");
                JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
                ByteArrayOutputStream diag = new ByteArrayOutputStream();
                int rc = javac.run(null, diag, diag, "-d", outDir.toString(), "--release", "25",
                        "--add-modules", "jdk.incubator.vector", "-proc:none",
                        "-cp", System.getProperty("java.class.path"), source.toString());
                if (rc != 0) {
                    throw new IllegalStateException("script " + s + " does not compile:\n" + diag);
                }
                URLClassLoader loader = new URLClassLoader(new URL[]{outDir.toUri().toURL()},
                        ScriptHarness.class.getClassLoader());
                String className = s.replaceFirst("\\.java$", "");
                return Class.forName(className, true, loader);
            } catch (IOException | ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
