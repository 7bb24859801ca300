package dev.tinyrt.tokenizer;

import ai.djl.util.Utils;
import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerLoadingTest {
    private static final Path BUNDLED = LlamaTokenizerTest.BUNDLED.toAbsolutePath().normalize();

    @Test
    void loadsFromTheTokenizerJsonFileToo() {
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(BUNDLED.resolve("tokenizer.json"))) {
            assertArrayEquals(new int[]{1, 15043, 3186}, tokenizer.encode("Hello world"));
        }
    }

    @Test
    void findsTheBundledFolderFromTheWorkingDirectory() {
        // Surefire runs in lib/: the search walks up to the checkout root.
        assertEquals(BUNDLED, LlamaTokenizer.defaultDirectory());
        assertEquals(BUNDLED, TokenizerLocation.find(null, null, BUNDLED.resolve("x/y")));
        try (LlamaTokenizer tokenizer = LlamaTokenizer.loadDefault()) {
            assertEquals(32000, tokenizer.vocabSize());
        }
    }

    @Test
    void homeSettingsWinOverTheSearchAndPropertyWinsOverEnv(@TempDir Path elsewhere) throws IOException {
        Path checkout = BUNDLED.getParent().getParent();
        assertEquals(BUNDLED, TokenizerLocation.find(checkout.toString(), null, elsewhere));
        assertEquals(BUNDLED, TokenizerLocation.find(null, checkout.toString(), elsewhere));
        assertEquals(BUNDLED, TokenizerLocation.find(checkout.toString(), elsewhere.toString(), elsewhere));
        TinyrtException wrongHome = assertThrows(TinyrtException.class,
                () -> TokenizerLocation.find(null, elsewhere.toString(), checkout));
        assertTrue(wrongHome.getMessage().contains("TINYRT_HOME"), wrongHome.getMessage());
    }

    @Test
    void reportsAMissingBundledFolder(@TempDir Path elsewhere) {
        TinyrtException e = assertThrows(TinyrtException.class, () -> TokenizerLocation.find(null, null, elsewhere));
        assertTrue(e.getMessage().contains("data/tokenizer/tokenizer.json"), e.getMessage());
    }

    @Test
    void rejectsMissingPaths(@TempDir Path dir) {
        TinyrtException missingFolder = assertThrows(TinyrtException.class,
                () -> LlamaTokenizer.load(dir.resolve("nope")));
        assertTrue(missingFolder.getMessage().startsWith("Tokenizer not found: "), missingFolder.getMessage());
        TinyrtException emptyFolder = assertThrows(TinyrtException.class, () -> LlamaTokenizer.load(dir));
        assertTrue(emptyFolder.getMessage().contains(dir.resolve("tokenizer.json").toString()),
                emptyFolder.getMessage());
    }

    @Test
    void rejectsBrokenOrIncompleteFiles(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{ not json");
        TinyrtException broken = assertThrows(TinyrtException.class, () -> LlamaTokenizer.load(dir));
        assertTrue(broken.getMessage().startsWith("Cannot read "), broken.getMessage());

        Files.copy(BUNDLED.resolve("tokenizer.json"), dir.resolve("tokenizer.json"),
                StandardCopyOption.REPLACE_EXISTING);
        TinyrtException noConfig = assertThrows(TinyrtException.class, () -> LlamaTokenizer.load(dir));
        assertTrue(noConfig.getMessage().contains("BOS and EOS"), noConfig.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\", \"eos_token\": \"<eot>\"}");
        TinyrtException unknownEos = assertThrows(TinyrtException.class, () -> LlamaTokenizer.load(dir));
        assertTrue(unknownEos.getMessage().contains("'<eot>'"), unknownEos.getMessage());
    }

    @Test
    void readsSpecialTokensFromTheConfigInsteadOfAssumingThem(@TempDir Path dir) throws IOException {
        Files.copy(BUNDLED.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        // A config that names other tokens (object form, as special_tokens_map.json writes them).
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"</s>\"}, \"eos_token\": \"<unk>\"}");
        try (LlamaTokenizer tokenizer = LlamaTokenizer.load(dir)) {
            assertEquals(2, tokenizer.bosId());
            assertEquals(0, tokenizer.eosId());
            assertArrayEquals(new int[]{2, 15043}, tokenizer.encode("Hello"));
        }
    }

    @Test
    void turnsDjlTrackingOffAndGivesItACacheFolder() {
        DjlEnvironment.configure();
        assertEquals("true", Utils.getEnvOrSystemProperty(DjlEnvironment.OPT_OUT_TRACKING));
        String cache = Utils.getEnvOrSystemProperty(DjlEnvironment.CACHE_DIR);
        assertTrue(cache != null && !cache.isBlank());
        if (System.getenv(DjlEnvironment.CACHE_DIR) == null) {
            assertEquals(DjlEnvironment.defaultCacheDir().toString(), cache);
        }
    }
}
