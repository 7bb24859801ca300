package dev.tinyrt;

/**
 * An error caused by the user's input or environment (bad file, bad flag, missing model), as opposed to a bug.
 * Command-line front ends print only its message, as one line, and exit non-zero without a stack trace.
 */
public class TinyrtException extends RuntimeException {
    public TinyrtException(String message) {
        super(message);
    }

    public TinyrtException(String message, Throwable cause) {
        super(message, cause);
    }
}
