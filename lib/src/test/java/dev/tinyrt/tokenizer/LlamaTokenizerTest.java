package dev.tinyrt.tokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Collections;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaTokenizerTest {
    /** Surefire runs in lib/: the bundled tokenizer is one level up. */
    static final Path BUNDLED = Path.of("..", "data", "tokenizer");

    private static LlamaTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = LlamaTokenizer.load(BUNDLED);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void encodesTheGroundTruthIds() {
        assertArrayEquals(new int[]{1, 15043, 3186}, tokenizer.encode("Hello world"));
        assertArrayEquals(new int[]{1, 450, 7483, 310, 3444, 338}, tokenizer.encode("The capital of France is"));
    }

    @Test
    void addsBosOnlyWhenAsked() {
        assertArrayEquals(new int[]{15043, 3186}, tokenizer.encode("Hello world", false));
        assertArrayEquals(new int[]{1}, tokenizer.encode(""));
        assertArrayEquals(new int[]{}, tokenizer.encode("", false));
    }

    @Test
    void readsSpecialTokensAndPiecesFromTheFiles() {
        assertEquals(1, tokenizer.bosId());
        assertEquals(2, tokenizer.eosId());
        assertEquals(32000, tokenizer.vocabSize());
        assertEquals("<unk>", tokenizer.piece(0));
        assertEquals("<s>", tokenizer.piece(1));
        assertEquals("</s>", tokenizer.piece(2));
        assertEquals("<0x0A>", tokenizer.piece(13));
        assertEquals("▁Hello", tokenizer.piece(15043));
        assertEquals("给", tokenizer.piece(31999));
    }

    @Test
    void fallsBackToBytesForCharactersOutsideTheVocabulary() {
        // U+1F600 is not a piece: "▁" then its four UTF-8 bytes, byte b being id b + 3.
        assertArrayEquals(new int[]{29871, 0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3}, tokenizer.encode("😀", false));
        // After a newline byte there is no "▁": "world" (11526), not "▁world" (3186).
        assertArrayEquals(new int[]{15043, 13, 11526}, tokenizer.encode("Hello\nworld", false));
    }

    @Test
    void decodeSkipsSpecialTokens() {
        assertEquals("Hello world", tokenizer.decode(new int[]{1, 15043, 3186, 2}));
        assertEquals("Hello world", tokenizer.decode(new int[]{15043, 0, 3186})); // <unk> is special too
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Hello world",
            " leading space",
            "   three leading spaces",
            "trailing space ",
            "trailing spaces   ",
            "multiple    inner     spaces",
            "line one\nline two\n\nline four\n",
            "\n starts with a newline",
            "tabs\tand\t\ttabs",
            "\r\nwindows line ends\r\n",
            "Emoji 😀👍🏽 and a family 👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵",
            "中文分词测试，还有标点。日本語のテキスト、カタカナ。한국어 텍스트",
            "Ünïcödé àccénts: café, naïve, Straße, Ångström",
            "Combining marks: e\u0301 a\u0308 o\u0302\u0323 Z\u0351\u0352\u0357",
            "Digits 0123456789 3.14159 1,000,000 and -42e-7",
            "Symbols ~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./ ±×÷≠≤≥∞",
            "Greek αβγδ, Cyrillic привет, Arabic مرحبا, Hebrew שלום, Hindi नमस्ते, Thai สวัสดี",
            "Rare: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝄞 \u0000 \u0007 \u00A0 \u200B \uFEFF",
            " ",
            "  ",
            "\n",
            "a",
    })
    void decodeInvertsEncode(String text) {
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        assertEquals(text, tokenizer.decode(tokenizer.encode(text, false)));
    }

    @Test
    void neverTruncatesLongInput() {
        int sentences = 1200;
        String text = String.join(" ", Collections.nCopies(sentences, "Hello world."));
        int[] expected = new int[1 + 3 * sentences];
        expected[0] = 1;
        for (int i = 0; i < sentences; i++) {
            System.arraycopy(new int[]{15043, 3186, 29889}, 0, expected, 1 + 3 * i, 3); // ▁Hello ▁world .
        }
        assertArrayEquals(expected, tokenizer.encode(text));
        assertEquals(text, tokenizer.decode(expected));
    }

    @Test
    void roundTripsLongMixedText() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 20_000; i++) {
            text.append("Sentence ").append(i).append(" talks about 東京, émigrés and 😀.\n");
        }
        int[] ids = tokenizer.encode(text.toString());
        assertTrue(ids.length > 5000, "expected more than 5000 tokens, got " + ids.length);
        assertEquals(text.toString(), tokenizer.decode(ids));
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.piece(32000));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.piece(-1));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[]{15043, 40000}));
    }
}
