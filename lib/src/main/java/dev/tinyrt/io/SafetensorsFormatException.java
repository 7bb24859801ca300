package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;

import java.nio.file.Path;

/** A safetensors file (or sharded index) that is malformed; the message names the file and, where known, the tensor. */
public class SafetensorsFormatException extends TinyrtException {
    public SafetensorsFormatException(String message) {
        super(message);
    }

    public SafetensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "{file}: {problem}". */
    static SafetensorsFormatException of(Path file, String problem) {
        return new SafetensorsFormatException(file + ": " + problem);
    }

    /** "{file}: tensor '{name}': {problem}". */
    static SafetensorsFormatException of(Path file, String tensor, String problem) {
        return new SafetensorsFormatException(file + ": tensor " + quote(tensor) + ": " + problem);
    }

    /** Quotes a name for a message, shortening forged multi-kilobyte names so the message stays one readable line. */
    static String quote(String name) {
        String shown = name.length() > 120 ? name.substring(0, 120) + "...(" + name.length() + " chars)" : name;
        return "'" + shown + "'";
    }
}
