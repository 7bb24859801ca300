package dev.tinyrt.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The parts of a Hugging Face tokenizer folder the runtime needs besides encoding: every piece by id, which ids
 * are special, and the BOS/EOS ids named by tokenizer_config.json (or special_tokens_map.json).
 */
record Vocabulary(String[] pieces, Set<Integer> specialIds, int bosId, int eosId) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Vocabulary read(Path tokenizerJson) {
        JsonNode tokenizer = readJson(tokenizerJson);
        Map<String, Integer> ids = new HashMap<>();
        tokenizer.path("model").path("vocab").properties()
                .forEach(e -> ids.put(e.getKey(), e.getValue().asInt()));
        Set<Integer> special = new HashSet<>();
        for (JsonNode added : tokenizer.path("added_tokens")) {
            ids.put(added.path("content").asText(), added.path("id").asInt());
            if (added.path("special").asBoolean(false)) {
                special.add(added.path("id").asInt());
            }
        }
        if (ids.isEmpty()) {
            throw new TinyrtException("Tokenizer " + tokenizerJson + " has no model.vocab");
        }
        String[] pieces = new String[ids.values().stream().mapToInt(Integer::intValue).max().orElseThrow() + 1];
        ids.forEach((piece, id) -> pieces[id] = piece);
        for (int id = 0; id < pieces.length; id++) {
            if (pieces[id] == null) {
                throw new TinyrtException("Tokenizer " + tokenizerJson + " has no piece for id " + id);
            }
        }
        JsonNode config = specialTokenConfig(tokenizerJson.getParent());
        int bos = idOf(config, "bos_token", ids, tokenizerJson);
        int eos = idOf(config, "eos_token", ids, tokenizerJson);
        return new Vocabulary(pieces, Set.copyOf(special), bos, eos);
    }

    /** tokenizer_config.json, else special_tokens_map.json: both name the special tokens. */
    private static JsonNode specialTokenConfig(Path dir) {
        for (String name : new String[]{"tokenizer_config.json", "special_tokens_map.json"}) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                return readJson(file);
            }
        }
        throw new TinyrtException("No tokenizer_config.json or special_tokens_map.json in " + dir
                + ": cannot tell the BOS and EOS tokens");
    }

    private static int idOf(JsonNode config, String key, Map<String, Integer> ids, Path tokenizerJson) {
        JsonNode token = config.path(key);
        // Written either as a plain string or as an AddedToken object with "content".
        String content = token.isObject() ? token.path("content").asText(null) : token.asText(null);
        if (content == null || token.isNull()) {
            throw new TinyrtException("The tokenizer config next to " + tokenizerJson + " does not name " + key);
        }
        Integer id = ids.get(content);
        if (id == null) {
            throw new TinyrtException(key + " '" + content + "' is not in the vocabulary of " + tokenizerJson);
        }
        return id;
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TinyrtException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
