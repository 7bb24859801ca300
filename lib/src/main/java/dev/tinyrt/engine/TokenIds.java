package dev.tinyrt.engine;

import dev.tinyrt.TinyrtException;

import java.util.Arrays;

/** Parses token ids given on a command line ("1,2,3" or "1 2 3"). */
public final class TokenIds {
    private TokenIds() {
    }

    public static int[] parse(String text) {
        String trimmed = text.trim();
        if (trimmed.isEmpty()) {
            throw new TinyrtException("empty prompt: --prompt-ids needs at least one token id");
        }
        try {
            return Arrays.stream(trimmed.split("[,\\s]+")).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new TinyrtException("--prompt-ids must be integers separated by commas, got \"" + text + "\"");
        }
    }
}
