package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.tokenizer.Tokenizer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Workload files in trtllm-bench's dataset format: JSON lines {@code {"task_id":i,"input_ids":[...],
 * "output_tokens":n}} (tensorrt_llm/bench/dataset/utils.py, generate_text_dataset). Lines with a text
 * {@code "prompt"} instead of {@code input_ids} are tokenized when a tokenizer is given.
 */
public final class Datasets {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Datasets() {
    }

    public static void write(Path file, List<BenchRequest> requests) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                for (BenchRequest r : requests) {
                    ObjectNode n = JSON.createObjectNode();
                    n.put("task_id", r.taskId());
                    var ids = n.putArray("input_ids");
                    for (int id : r.inputIds()) {
                        ids.add(id);
                    }
                    n.put("output_tokens", r.outputTokens());
                    w.write(JSON.writeValueAsString(n));
                    w.write('\n');
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot write dataset " + file + ": " + e.getMessage(), e);
        }
    }

    /** @param tokenizer for lines with a text "prompt"; may be null when every line has input_ids */
    public static List<BenchRequest> read(Path file, Tokenizer tokenizer) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("dataset not found: " + file);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TinyrtException("cannot read dataset " + file + ": " + e.getMessage(), e);
        }
        List<BenchRequest> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String where = file + " line " + (i + 1);
            try {
                out.add(parse(JSON.readTree(line), out.size(), tokenizer, where));
            } catch (IOException e) {
                throw new TinyrtException(where + " is not JSON: " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) {
            throw new TinyrtException("dataset " + file + " has no requests");
        }
        return out;
    }

    private static BenchRequest parse(JsonNode n, int index, Tokenizer tokenizer, String where) {
        int taskId = n.path("task_id").asInt(index);
        JsonNode outTokens = n.get("output_tokens");
        if (outTokens == null || !outTokens.canConvertToInt() || outTokens.asInt() < 1) {
            throw new TinyrtException(where + ": \"output_tokens\" must be a positive integer");
        }
        int[] ids;
        if (n.has("input_ids")) {
            JsonNode arr = n.get("input_ids");
            if (!arr.isArray() || arr.isEmpty()) {
                throw new TinyrtException(where + ": \"input_ids\" must be a non-empty array of token ids");
            }
            ids = new int[arr.size()];
            for (int j = 0; j < ids.length; j++) {
                if (!arr.get(j).canConvertToInt() || arr.get(j).asInt() < 0) {
                    throw new TinyrtException(where + ": input_ids[" + j + "] is not a token id");
                }
                ids[j] = arr.get(j).asInt();
            }
        } else if (n.has("prompt")) {
            if (tokenizer == null) {
                throw new TinyrtException(where + " has a text \"prompt\" but the model has no tokenizer");
            }
            ids = tokenizer.encode(n.get("prompt").asText());
            if (ids.length == 0) {
                throw new TinyrtException(where + ": the prompt is empty");
            }
        } else {
            throw new TinyrtException(where + " has neither \"input_ids\" nor \"prompt\"");
        }
        return new BenchRequest(taskId, ids, outTokens.asInt());
    }
}
