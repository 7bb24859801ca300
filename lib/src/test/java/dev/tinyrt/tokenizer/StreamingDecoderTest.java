package dev.tinyrt.tokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;

class StreamingDecoderTest {
    private static LlamaTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = LlamaTokenizer.load(LlamaTokenizerTest.BUNDLED);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Hello world",
            "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 end",
            "😀 starts with an emoji",
            "中文分词测试，还有标点。日本語のテキスト。한국어 텍스트",
            "Ünïcödé àccénts: café, naïve, Straße; e\u0301 a\u0308",
            "  leading spaces\nand\ttabs\n\n",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝄞 mixed with ASCII 123",
    })
    void piecesConcatenateToTheFullDecode(String text) {
        int[] ids = tokenizer.encode(text);
        StreamingDecoder stream = tokenizer.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = stream.push(id);
            assertFalse(piece.contains("\uFFFD"), "U+FFFD emitted for token " + id + " of " + text);
            out.append(piece);
        }
        out.append(stream.push(tokenizer.eosId())).append(stream.flush());
        assertEquals(tokenizer.decode(ids), out.toString());
        assertEquals(text, out.toString());
    }

    @Test
    void thePrecomputedTableEmitsExactlyWhatThePieceFunctionDoes() {
        java.util.Random r = new java.util.Random(3);
        int vocab = tokenizer.vocabSize();
        for (int seq = 0; seq < 50; seq++) {
            StreamingDecoder table = tokenizer.streamingDecoder();
            StreamingDecoder function = new StreamingDecoder(tokenizer::piece, java.util.Set.of(tokenizer.bosId(),
                    tokenizer.eosId()));
            for (int t = 0; t < 40; t++) {
                // byte-fallback ids (3..258 in Llama vocabularies) often, to break and complete characters
                int id = r.nextInt(3) == 0 ? 3 + r.nextInt(256) : 1 + r.nextInt(vocab - 1);  // not unk (0)
                assertEquals(function.push(id), table.push(id), "sequence " + seq + " token " + t + " id " + id);
            }
            assertEquals(function.flush(), table.flush());
        }
        assertThrows(IllegalArgumentException.class, () -> tokenizer.streamingDecoder().push(vocab));
    }

    @Test
    void holdsBackSplitCharactersUntilTheirLastByte() {
        // "▁" then the four byte pieces of U+1F600.
        int[] ids = tokenizer.encode("a 😀", false);
        assertEquals(List.of("<0xF0>", "<0x9F>", "<0x98>", "<0x80>"), pieces(ids, ids.length - 4, ids.length));
        StreamingDecoder stream = tokenizer.streamingDecoder();
        List<String> emitted = new ArrayList<>();
        for (int id : ids) {
            emitted.add(stream.push(id));
        }
        assertEquals(List.of("a", " ", "", "", "", "😀"), emitted);
        assertEquals("", stream.flush());
    }

    @Test
    void dropsOnlyTheFirstLeadingSpace() {
        StreamingDecoder stream = tokenizer.streamingDecoder();
        assertEquals("", stream.push(tokenizer.bosId()));
        assertEquals("Hello", stream.push(15043)); // ▁Hello
        assertEquals(" world", stream.push(3186)); // ▁world
        assertEquals(" Hello", stream.push(15043));
        assertEquals("", stream.push(tokenizer.eosId()));
    }

    @Test
    void replacesBytesThatNeverComplete() {
        StreamingDecoder stream = tokenizer.streamingDecoder();
        int e2 = 0xE2 + 3; // <0xE2>: the first of three bytes
        assertEquals("<0xE2>", tokenizer.piece(e2));
        assertEquals("", stream.push(e2));
        assertEquals("\uFFFD world", stream.push(3186));
        assertEquals("", stream.push(e2));
        assertEquals("\uFFFD", stream.flush());
        assertEquals("\uFFFD world\uFFFD", tokenizer.decode(new int[]{e2, 3186, e2}));
    }

    @Test
    void findsTheCompletePrefixOfUtf8Bytes() {
        assertEquals(0, StreamingDecoder.completePrefixLength(new byte[]{(byte) 0xF0, (byte) 0x9F, (byte) 0x98}));
        assertEquals(4, StreamingDecoder.completePrefixLength(
                new byte[]{(byte) 0xF0, (byte) 0x9F, (byte) 0x98, (byte) 0x80}));
        assertEquals(1, StreamingDecoder.completePrefixLength(new byte[]{'a', (byte) 0xE4}));
        assertEquals(3, StreamingDecoder.completePrefixLength(new byte[]{(byte) 0xC3, (byte) 0xA9, 'b'}));
        assertEquals(2, StreamingDecoder.completePrefixLength(new byte[]{(byte) 0x80, (byte) 0x80})); // stray: give up
    }

    @Test
    void recognisesOnlyByteFallbackPieces() {
        assertEquals(0x0A, StreamingDecoder.byteValue("<0x0A>"));
        assertEquals(0xFF, StreamingDecoder.byteValue("<0xFF>"));
        assertEquals(-1, StreamingDecoder.byteValue("▁Hello"));
        assertEquals(-1, StreamingDecoder.byteValue("<0xZZ>"));
        assertEquals(-1, StreamingDecoder.byteValue("<s>"));
        assertEquals("\n", tokenizer.streamingDecoder().push(13)); // <0x0A> alone is a whole character
    }

    private static List<String> pieces(int[] ids, int from, int to) {
        List<String> result = new ArrayList<>();
        for (int i = from; i < to; i++) {
            result.add(tokenizer.piece(ids[i]));
        }
        return result;
    }
}
