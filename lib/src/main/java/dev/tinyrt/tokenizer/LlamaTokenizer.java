package dev.tinyrt.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Hugging Face tokenizer.json (the Llama-2 / TinyLlama one by default) run by DJL's binding of the Rust
 * tokenizers library. Encoding never truncates or pads, whatever the input length.
 */
public final class LlamaTokenizer implements Tokenizer {
    private final HuggingFaceTokenizer tokenizer;
    private final Vocabulary vocabulary;

    private LlamaTokenizer(HuggingFaceTokenizer tokenizer, Vocabulary vocabulary) {
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
    }

    /**
     * Loads a tokenizer folder (tokenizer.json plus tokenizer_config.json) or a tokenizer.json file whose folder
     * holds the config.
     */
    public static LlamaTokenizer load(Path dirOrTokenizerJson) {
        Path json = Files.isDirectory(dirOrTokenizerJson)
                ? dirOrTokenizerJson.resolve("tokenizer.json") : dirOrTokenizerJson;
        if (!Files.isRegularFile(json)) {
            throw new TinyrtException("Tokenizer not found: " + json.toAbsolutePath()
                    + " (give a tokenizer.json file or a folder holding one)");
        }
        json = json.toAbsolutePath();
        Vocabulary vocabulary = Vocabulary.read(json);
        DjlEnvironment.configure(); // before DJL's first use: no tracking call, a tinyrt cache folder
        try {
            // The file, not the folder: DJL would otherwise apply tokenizer_config.json text rewrites
            // (lower-casing, prefix space, clean-up of spaces) that the Rust pipeline already covers.
            HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(json)
                    .optTruncation(false)
                    .optPadding(false)
                    .optAddSpecialTokens(false)
                    .build();
            return new LlamaTokenizer(tokenizer, vocabulary);
        } catch (IOException | RuntimeException e) {
            throw new TinyrtException("Cannot load tokenizer " + json + ": " + e.getMessage(), e);
        }
    }

    /** Loads the tokenizer bundled with tinyrt, found by {@link #defaultDirectory()}. */
    public static LlamaTokenizer loadDefault() {
        return load(defaultDirectory());
    }

    /**
     * The bundled tokenizer folder: {@code data/tokenizer} under the system property {@code tinyrt.home} or the
     * environment variable {@code TINYRT_HOME} when set, else the first such folder holding a tokenizer.json
     * found from the working directory upwards.
     */
    public static Path defaultDirectory() {
        return TokenizerLocation.find();
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int offset = addBos ? 1 : 0;
        int[] result = new int[ids.length + offset];
        if (addBos) {
            result[0] = vocabulary.bosId();
        }
        for (int i = 0; i < ids.length; i++) {
            result[i + offset] = Math.toIntExact(ids[i]);
        }
        return result;
    }

    @Override
    public String decode(int[] ids) {
        long[] longIds = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longIds[i] = checkedId(ids[i]);
        }
        return tokenizer.decode(longIds, true);
    }

    @Override
    public String piece(int id) {
        return vocabulary.pieces()[checkedId(id)];
    }

    @Override
    public int bosId() {
        return vocabulary.bosId();
    }

    @Override
    public int eosId() {
        return vocabulary.eosId();
    }

    @Override
    public int vocabSize() {
        return vocabulary.pieces().length;
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        StreamingDecoder.Pieces t = decoderTable;
        if (t == null) {  // a race builds the same table twice, harmlessly
            t = StreamingDecoder.Pieces.of(vocabulary.pieces(), vocabulary.specialIds());
            decoderTable = t;
        }
        return new StreamingDecoder(t);
    }

    /** Shared by every sequence's decoder, built at first use. */
    private volatile StreamingDecoder.Pieces decoderTable;

    @Override
    public void close() {
        tokenizer.close();
    }

    private int checkedId(int id) {
        if (id < 0 || id >= vocabulary.pieces().length) {
            throw new IllegalArgumentException("Token id " + id + " is outside the vocabulary [0, "
                    + vocabulary.pieces().length + ")");
        }
        return id;
    }

    @Override
    public String toString() {
        return "LlamaTokenizer[vocab=" + vocabSize() + ", bos=" + bosId() + ", eos=" + eosId()
                + ", special=" + Arrays.toString(vocabulary.specialIds().stream().sorted().toArray()) + "]";
    }
}
