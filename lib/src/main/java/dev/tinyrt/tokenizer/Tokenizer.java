package dev.tinyrt.tokenizer;

/**
 * Text to token ids and back, for one model's vocabulary. Implementations hold native resources: close them.
 */
public interface Tokenizer extends AutoCloseable {

    /** Token ids of {@code text}, starting with the BOS token. */
    default int[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of {@code text}, with the BOS token first only when {@code addBos} is set. */
    int[] encode(String text, boolean addBos);

    /** Text of {@code ids}; special tokens such as BOS and EOS are left out. */
    String decode(int[] ids);

    /** The vocabulary entry of {@code id} as stored, e.g. {@code "▁Hello"} or {@code "<0x0A>"}. */
    String piece(int id);

    int bosId();

    int eosId();

    /** Number of token ids: every id in [0, vocabSize()) has a piece. */
    int vocabSize();

    /** A fresh decoder that turns generated ids into text one token at a time. */
    StreamingDecoder streamingDecoder();

    @Override
    void close();
}
