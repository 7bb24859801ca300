package dev.tinyrt.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The JSON shape of a generation result that inference_engine.java writes with {@code --output-json}. */
public final class GenerationJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private GenerationJson() {
    }

    public static ObjectNode toJson(GenerationResult r) {
        ObjectNode n = JSON.createObjectNode();
        ArrayNode ids = n.putArray("output_ids");
        for (int id : r.outputIds()) {
            ids.add(id);
        }
        if (r.text() != null) {
            n.put("text", r.text());
        } else {
            n.putNull("text");
        }
        ArrayNode lp = n.putArray("logprobs");
        for (TokenLogprob[] step : r.logprobs()) {
            ArrayNode entries = lp.addArray();
            for (TokenLogprob e : step) {
                entries.addObject().put("id", e.id()).put("logprob", e.logprob());
            }
        }
        n.put("finish_reason", r.finishReason().name().toLowerCase(Locale.ROOT));
        n.put("prompt_tokens", r.promptIds().length);
        n.put("ttft_ms", r.ttftMs());
        n.put("decode_ms", r.decodeMs());
        if (Double.isNaN(r.tokensPerS())) {
            n.putNull("tokens_per_s");
        } else {
            n.put("tokens_per_s", r.tokensPerS());
        }
        return n;
    }

    public static void write(Path file, GenerationResult r) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            JSON.writeValue(file.toFile(), toJson(r));
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
