package dev.tinyrt.cli;

import dev.tinyrt.TinyrtException;
import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Runs a picocli command the way every tinyrt script should: user errors become one line on stderr and
 * exit code 2; bugs keep their stack trace (exit code 1).
 */
public final class CommandRunner {
    public static final int USER_ERROR = 2;

    private CommandRunner() {
    }

    /** Executes {@code command} with {@code args} and returns the exit code (does not call System.exit). */
    public static int run(Object command, String... args) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            Throwable userError = findUserError(ex);
            if (userError != null) {
                PrintWriter err = line.getErr();
                err.println("error: " + userError.getMessage());
                err.flush();
                return USER_ERROR;
            }
            throw ex;
        });
        return cl.execute(args);
    }

    /** Runs the command and exits the JVM with its exit code. */
    public static void exit(Object command, String... args) {
        System.exit(run(command, args));
    }

    private static Throwable findUserError(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof TinyrtException) {
                return t;
            }
        }
        return null;
    }
}
