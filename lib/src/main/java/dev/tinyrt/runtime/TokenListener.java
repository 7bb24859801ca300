package dev.tinyrt.runtime;

/** Receives generated tokens as they are produced. */
@FunctionalInterface
public interface TokenListener {
    /**
     * @param id   the token id
     * @param text the text this token completes (may be empty while a multi-byte character is incomplete or a
     *             possible stop string is held back; empty when no tokenizer is loaded)
     */
    void onToken(int id, String text);

    TokenListener NONE = (id, text) -> {
    };
}
