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

    /**
     * What {@link #push} needs of each id of a vocabulary, worked out once: whether it is skipped, its byte if it is
     * a byte-fallback piece, else its text with "▁" as a space. A tokenizer builds one and shares it across the
     * sequences it decodes, so a token costs a few array reads (the executor decodes every generated token).
     */
    public static final class Pieces {
        private final boolean[] skipped;
        private final int[] byteValue;
        private final String[] text;

        private Pieces(boolean[] skipped, int[] byteValue, String[] text) {
            this.skipped = skipped;
            this.byteValue = byteValue;
            this.text = text;
        }

        /** @param pieces the vocabulary entries by id; {@code skippedIds} produce no text (special tokens) */
        public static Pieces of(String[] pieces, Set<Integer> skippedIds) {
            int n = pieces.length;
            boolean[] skipped = new boolean[n];
            int[] bytes = new int[n];
            String[] text = new String[n];
            for (int id = 0; id < n; id++) {
                skipped[id] = skippedIds.contains(id);
                bytes[id] = byteValue(pieces[id]);
                text[id] = bytes[id] >= 0 ? null : pieces[id].replace(SPACE_MARKER, ' ');
            }
            return new Pieces(skipped, bytes, text);
        }
    }

    private final Pieces table;
    private final IntFunction<String> pieces;
    private final Set<Integer> skippedIds;
    private final ByteArrayOutputStream pendingBytes = new ByteArrayOutputStream();
    private boolean started;

    /**
     * @param pieces     the vocabulary entry of an id
     * @param skippedIds ids that produce no text (special tokens)
     */
    public StreamingDecoder(IntFunction<String> pieces, Set<Integer> skippedIds) {
        this.table = null;
        this.pieces = pieces;
        this.skippedIds = Set.copyOf(skippedIds);
    }

    /** A decoder over a vocabulary's precomputed {@link Pieces} (the same text as the other constructor's). */
    public StreamingDecoder(Pieces table) {
        this.table = table;
        this.pieces = null;
        this.skippedIds = null;
    }

    /** Adds one token and returns the text it completes; empty while a character is still incomplete. */
    public String push(int id) {
        String text;
        int b;
        if (table != null) {
            if (id < 0 || id >= table.text.length) {
                throw new IllegalArgumentException("Token id " + id + " is outside the vocabulary [0, "
                        + table.text.length + ")");
            }
            if (table.skipped[id]) {
                return "";
            }
            b = table.byteValue[id];
            text = table.text[id];
        } else {
            if (skippedIds.contains(id)) {
                return "";
            }
            String piece = pieces.apply(id);
            b = byteValue(piece);
            text = b >= 0 ? null : piece.replace(SPACE_MARKER, ' ');
        }
        if (b >= 0) {
            pendingBytes.write(b);
            return emit(takeCompleteCharacters());
        }
        if (pendingBytes.size() == 0) {
            return emit(text);
        }
        // A regular piece ends a run of byte pieces: what is still pending can no longer complete.
        String broken = REPLACEMENT.repeat(pendingBytes.size());
        pendingBytes.reset();
        return emit(broken + text);
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
