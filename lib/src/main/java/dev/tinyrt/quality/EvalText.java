package dev.tinyrt.quality;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Evaluation text as one token stream, laid out the way tinyrt-12m was trained and validated
 * (environment/train_tiny_llama.py): documents are separated by a blank line, the line {@code <|endoftext|>} and a
 * blank line; each document becomes BOS, its tokens, EOS, in file order. A file without separators is one document.
 */
public final class EvalText {
    public static final String DOCUMENT_SEPARATOR = "\n\n<|endoftext|>\n\n";

    private EvalText() {
    }

    public static int[] tokenize(Path file, Tokenizer tokenizer) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("evaluation text not found: " + file);
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<String> docs = documents(text);
        if (docs.isEmpty()) {
            throw new TinyrtException("evaluation text " + file + " holds no text");
        }
        return tokenize(docs, tokenizer);
    }

    /** The non-blank documents of {@code text}, as the training script splits them. */
    public static List<String> documents(String text) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == '\n') {
            end--;
        }
        String body = text.substring(0, end);
        List<String> docs = new ArrayList<>();
        for (String d : body.split(java.util.regex.Pattern.quote(DOCUMENT_SEPARATOR), -1)) {
            if (!d.isBlank()) {
                docs.add(d);
            }
        }
        return docs;
    }

    public static int[] tokenize(List<String> documents, Tokenizer tokenizer) {
        List<int[]> parts = new ArrayList<>(documents.size());
        int total = 0;
        for (String d : documents) {
            int[] ids = tokenizer.encode(d, false);
            parts.add(ids);
            total += ids.length + 2;
        }
        int[] stream = new int[total];
        int at = 0;
        for (int[] ids : parts) {
            stream[at++] = tokenizer.bosId();
            System.arraycopy(ids, 0, stream, at, ids.length);
            at += ids.length;
            stream[at++] = tokenizer.eosId();
        }
        return stream;
    }
}
