package dev.tinyrt.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * Turns token ids into text as they are generated. A character that byte-fallback splits over several tokens
 * (e.g. {@code <0xF0> <0x9F> <0x98> <0x80>} for an emoji) is emitted once its last byte arrives, never as
 * U+FFFD halves. Follows the Llama decoder chain: "▁" becomes a space, byte pieces become bytes, special tokens
 * are skipped and the one leading space of the whole text is dropped. For valid token sequences the pushed
 * pieces concatenate to exactly {@link Tokenizer#decode}; bytes that can never form a character become one
 * U+FFFD each (batch decode replaces a whole invalid byte run instead).
 */
public final class StreamingDecoder {
    private static final char SPACE_MARKER = '\u2581';
    private static final String REPLACEMENT = "\uFFFD";

    private final IntFunction<String> pieces;
    private final Set<Integer> skippedIds;
    private final ByteArrayOutputStream pendingBytes = new ByteArrayOutputStream();
    private boolean started;

    /**
     * @param pieces     the vocabulary entry of an id
     * @param skippedIds ids that produce no text (special tokens)
     */
    public StreamingDecoder(IntFunction<String> pieces, Set<Integer> skippedIds) {
        this.pieces = pieces;
        this.skippedIds = Set.copyOf(skippedIds);
    }

    /** Adds one token and returns the text it completes; empty while a character is still incomplete. */
    public String push(int id) {
        if (skippedIds.contains(id)) {
            return "";
        }
        String piece = pieces.apply(id);
        int b = byteValue(piece);
        if (b >= 0) {
            pendingBytes.write(b);
            return emit(takeCompleteCharacters());
        }
        // A regular piece ends a run of byte pieces: what is still pending can no longer complete.
        String broken = REPLACEMENT.repeat(pendingBytes.size());
        pendingBytes.reset();
        return emit(broken + piece.replace(SPACE_MARKER, ' '));
    }

    /** Ends the stream: returns U+FFFD for each byte of a character that never completed. */
    public String flush() {
        String broken = REPLACEMENT.repeat(pendingBytes.size());
        pendingBytes.reset();
        return emit(broken);
    }

    /** Drops the single leading space of the whole text, like the decoder's Strip step. */
    private String emit(String text) {
        if (started || text.isEmpty()) {
            return text;
        }
        started = true;
        return text.charAt(0) == ' ' ? text.substring(1) : text;
    }

    /** Decodes and removes the pending bytes that form whole characters; keeps an incomplete tail. */
    private String takeCompleteCharacters() {
        byte[] bytes = pendingBytes.toByteArray();
        int complete = completePrefixLength(bytes);
        if (complete == 0) {
            return "";
        }
        pendingBytes.reset();
        pendingBytes.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Length of {@code bytes} without a trailing UTF-8 sequence that further bytes could still complete. */
    static int completePrefixLength(byte[] bytes) {
        int n = bytes.length;
        // A sequence is at most 4 bytes: look back at most 3 continuation bytes for its lead byte.
        for (int back = 1; back <= Math.min(4, n); back++) {
            int b = bytes[n - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // continuation byte
            }
            int expected = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 1;
            return expected > back ? n - back : n;
        }
        return n;
    }

    /** The byte of a byte-fallback piece such as {@code <0xE2>}, or -1 for any other piece. */
    static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(piece.charAt(3), 16);
        int lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
}
