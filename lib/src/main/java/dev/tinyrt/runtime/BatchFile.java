package dev.tinyrt.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads a JSON-lines file of requests: one object per line with {@code prompt} (text) or {@code input_ids}, and
 * optional {@code max_new_tokens}, {@code temperature}, {@code top_k}, {@code top_p}, {@code repetition_penalty},
 * {@code seed}, {@code stop} (string or list), {@code ignore_eos}, {@code logprobs}. Unset fields take the
 * defaults given. A bad line is reported with its line number; the file as a whole must be readable.
 */
public final class BatchFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> KEYS = Set.of("prompt", "input_ids", "max_new_tokens", "temperature", "top_k",
            "top_p", "repetition_penalty", "seed", "stop", "ignore_eos", "logprobs", "id");

    /** One line: a request, or the reason it cannot be one. */
    public record Entry(int line, String id, Request request, String error) {
    }

    private BatchFile() {
    }

    public static List<Entry> read(Path file, Tokenizer tokenizer, SamplingParams defaults) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot read batch file " + file + ": " + e.getMessage(), e);
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i).strip();
            if (text.isEmpty()) {
                continue;
            }
            int lineNo = i + 1;
            String id = String.valueOf(entries.size());
            try {
                JsonNode n = JSON.readTree(text);
                if (n == null || !n.isObject()) {
                    throw new TinyrtException("not a JSON object");
                }
                if (n.hasNonNull("id")) {
                    id = n.get("id").asText();
                }
                entries.add(new Entry(lineNo, id, request(n, tokenizer, defaults), null));
            } catch (IOException | TinyrtException e) {
                String why = e instanceof IOException ? "invalid JSON" : e.getMessage();
                entries.add(new Entry(lineNo, id, null, file.getFileName() + " line " + lineNo + ": " + why));
            }
        }
        if (entries.isEmpty()) {
            throw new TinyrtException("batch file " + file + " holds no requests");
        }
        return entries;
    }

    static Request request(JsonNode n, Tokenizer tokenizer, SamplingParams d) {
        n.fieldNames().forEachRemaining(k -> {
            if (!KEYS.contains(k)) {
                throw new TinyrtException("unknown key \"" + k + "\"; allowed: " + new java.util.TreeSet<>(KEYS));
            }
        });
        int[] ids;
        if (n.has("input_ids") == n.has("prompt")) {
            throw new TinyrtException("give exactly one of \"prompt\" and \"input_ids\"");
        } else if (n.has("input_ids")) {
            JsonNode a = n.get("input_ids");
            if (!a.isArray() || a.isEmpty()) {
                throw new TinyrtException("\"input_ids\" must be a non-empty array of token ids");
            }
            ids = new int[a.size()];
            for (int i = 0; i < ids.length; i++) {
                if (!a.get(i).canConvertToInt()) {
                    throw new TinyrtException("\"input_ids\" must hold integers, got " + a.get(i));
                }
                ids[i] = a.get(i).asInt();
            }
        } else {
            String prompt = n.get("prompt").asText();
            if (prompt.isEmpty()) {
                throw new TinyrtException("empty prompt");
            }
            if (tokenizer == null) {
                throw new TinyrtException("\"prompt\" needs a tokenizer and the model has none: use \"input_ids\"");
            }
            ids = tokenizer.encode(prompt);
        }
        List<String> stop = d.stopStrings();
        if (n.has("stop")) {
            JsonNode s = n.get("stop");
            stop = new ArrayList<>();
            if (s.isArray()) {
                for (JsonNode x : s) {
                    stop.add(x.asText());
                }
            } else {
                stop.add(s.asText());
            }
        }
        SamplingParams p = new SamplingParams(
                (float) n.path("temperature").asDouble(d.temperature()), n.path("top_k").asInt(d.topK()),
                (float) n.path("top_p").asDouble(d.topP()),
                (float) n.path("repetition_penalty").asDouble(d.repetitionPenalty()),
                n.hasNonNull("seed") ? Long.valueOf(n.get("seed").asLong()) : d.seed(),
                n.path("max_new_tokens").asInt(d.maxNewTokens()), stop,
                n.path("ignore_eos").asBoolean(d.ignoreEos()), n.path("logprobs").asInt(d.logprobs()));
        return new Request(ids, p);
    }
}
