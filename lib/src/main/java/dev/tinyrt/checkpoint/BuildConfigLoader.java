package dev.tinyrt.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.quant.KvCacheQuant;
import dev.tinyrt.quant.QuantAlgo;
import dev.tinyrt.quant.SmoothQuant;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads and validates a build config YAML. Every problem is reported as one {@link TinyrtException} that names the
 * file, the key, the bad value and what is allowed, e.g.
 * {@code configs/x.yaml: quantization.algorithm: "W3A16" is not supported; allowed: none, W8A16, ...}.
 */
public final class BuildConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(
            new YAMLFactory().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION));

    /** Keys of each section, in documentation order. */
    private static final Map<String, Set<String>> SECTIONS = new LinkedHashMap<>();

    static {
        SECTIONS.put("", orderedSet("description", "dtype", "quantization", "calibration", "build"));
        SECTIONS.put("quantization", orderedSet("algorithm", "group_size", "kv_cache", "smoothquant_alpha", "awq_grid",
                "awq_clip", "float_weights"));
        SECTIONS.put("calibration", orderedSet("data", "samples", "seq_len", "awq_tokens"));
        SECTIONS.put("build", orderedSet("max_batch_size", "max_input_len", "max_seq_len", "max_num_tokens",
                "tokens_per_block"));
    }

    public static final String DTYPES = "float16, bfloat16, float32";
    public static final int DEFAULT_AWQ_GROUP = 128;
    public static final int DEFAULT_AWQ_GRID = 20;

    private final Path source;

    private BuildConfigLoader(Path source) {
        this.source = source;
    }

    public static BuildConfig load(Path yaml) {
        if (!Files.isRegularFile(yaml)) {
            throw new TinyrtException("build config not found: " + yaml);
        }
        JsonNode root;
        try {
            root = YAML.readTree(yaml.toFile());
        } catch (JsonProcessingException e) {
            throw new TinyrtException(yaml + ": not valid YAML: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + yaml + ": " + e.getMessage(), e);
        }
        return new BuildConfigLoader(yaml).parse(root);
    }

    private BuildConfig parse(JsonNode root) {
        if (root == null || root.isNull() || root.isMissingNode()) {
            throw new TinyrtException(source + ": the file is empty; allowed keys: " + String.join(", ", SECTIONS.get("")));
        }
        checkKeys(root, "");
        String description = root.has("description") ? string(root, "description") : null;
        String dtype = root.has("dtype") ? choice(root, "dtype", DTYPES) : "float16";

        JsonNode q = section(root, "quantization");
        QuantAlgo algo = QuantAlgo.NONE;
        if (q.has("algorithm")) {
            String text = string(q, "quantization.algorithm");
            algo = QuantAlgo.fromConfigName(text);
            if (algo == null) {
                throw bad("quantization.algorithm", q.get("algorithm"), "is not supported",
                        QuantAlgo.allowedConfigNames());
            }
        }
        KvCacheQuant kv = KvCacheQuant.NONE;
        if (q.has("kv_cache")) {
            String text = string(q, "quantization.kv_cache");
            kv = KvCacheQuant.fromConfigName(text);
            if (kv == null) {
                throw bad("quantization.kv_cache", q.get("kv_cache"), "is not supported", KvCacheQuant.allowedConfigNames());
            }
        }
        int group = 0;
        if (q.has("group_size")) {
            onlyFor(algo, "quantization.group_size", QuantAlgo.W4A16, QuantAlgo.W4A16_AWQ);
            group = integer(q, "quantization.group_size", 16, 4096);
            if (Integer.bitCount(group) != 1) {
                throw bad("quantization.group_size", q.get("group_size"), "is not a power of two",
                        "a power of two from 16 (TensorRT-LLM's kernels take 64 and 128)");
            }
        } else if (algo == QuantAlgo.W4A16_AWQ) {
            group = DEFAULT_AWQ_GROUP;
        }
        float alpha = SmoothQuant.DEFAULT_ALPHA;
        if (q.has("smoothquant_alpha")) {
            onlyFor(algo, "quantization.smoothquant_alpha", QuantAlgo.W8A8_SQ_PER_CHANNEL);
            alpha = (float) number(q, "quantization.smoothquant_alpha", 0, 1);
        }
        int grid = DEFAULT_AWQ_GRID;
        if (q.has("awq_grid")) {
            onlyFor(algo, "quantization.awq_grid", QuantAlgo.W4A16_AWQ);
            grid = integer(q, "quantization.awq_grid", 1, 1000);
        }

        boolean clip = true;
        if (q.has("awq_clip")) {
            onlyFor(algo, "quantization.awq_clip", QuantAlgo.W4A16_AWQ);
            clip = bool(q, "quantization.awq_clip");
        }
        boolean floatWeights = false;
        if (q.has("float_weights")) {
            onlyFor(algo, "quantization.float_weights", QuantAlgo.W8A16, QuantAlgo.W4A16);
            floatWeights = bool(q, "quantization.float_weights");
            if (floatWeights && group > 0) {
                throw new TinyrtException(source + ": quantization.float_weights applies to per-channel W4A16 only; "
                        + "allowed: remove group_size, or float_weights: false (group-wise INT4 is stored as int4)");
            }
        }

        JsonNode c = section(root, "calibration");
        BuildConfig.Calibration calibration = new BuildConfig.Calibration(
                c.has("data") ? string(c, "calibration.data") : null,
                c.has("samples") ? integer(c, "calibration.samples", 1, 1_000_000) : 128,
                c.has("seq_len") ? integer(c, "calibration.seq_len", 2, 1 << 20) : 512,
                c.has("awq_tokens") ? integer(c, "calibration.awq_tokens", 1, 1 << 24) : 4096);

        JsonNode b = section(root, "build");
        BuildConfig.BuildLimits limits = new BuildConfig.BuildLimits(
                b.has("max_batch_size") ? integer(b, "build.max_batch_size", 1, 1 << 20) : 8,
                b.has("max_input_len") ? integer(b, "build.max_input_len", 1, 1 << 24) : 1024,
                b.has("max_seq_len") ? integer(b, "build.max_seq_len", 1, 1 << 24) : 2048,
                b.has("max_num_tokens") ? integer(b, "build.max_num_tokens", 1, 1 << 26) : 8192,
                b.has("tokens_per_block") ? integer(b, "build.tokens_per_block", 1, 1 << 16) : 32);
        if (Integer.bitCount(limits.tokensPerBlock()) != 1) {
            throw bad("build.tokens_per_block", b.get("tokens_per_block"), "is not a power of two",
                    "a power of two such as 16, 32 or 64");
        }
        if (limits.maxInputLen() > limits.maxSeqLen()) {
            throw bad("build.max_input_len", b.get("max_input_len"), "exceeds build.max_seq_len " + limits.maxSeqLen(),
                    "1.." + limits.maxSeqLen());
        }
        return new BuildConfig(source, description, dtype,
                new BuildConfig.Quantization(algo, group, kv, alpha, grid, clip, floatWeights),
                calibration, limits);
    }

    private static Set<String> orderedSet(String... keys) {
        return new java.util.LinkedHashSet<>(java.util.List.of(keys));
    }

    private void checkKeys(JsonNode node, String section) {
        Set<String> allowed = SECTIONS.get(section);
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!allowed.contains(key)) {
                String where = section.isEmpty() ? "at the top level" : "in " + section;
                throw new TinyrtException(source + ": unknown key \"" + (section.isEmpty() ? "" : section + ".") + key
                        + "\"; allowed keys " + where + ": " + String.join(", ", allowed));
            }
        }
    }

    /** A section that may be absent (empty) but must be a mapping when present. */
    private JsonNode section(JsonNode root, String name) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            return YAML.createObjectNode();
        }
        if (!n.isObject()) {
            throw bad(name, n, "must be a mapping", "keys " + String.join(", ", SECTIONS.get(name)));
        }
        checkKeys(n, name);
        return n;
    }

    private String string(JsonNode parent, String key) {
        JsonNode v = parent.get(leaf(key));
        if (!v.isTextual()) {
            throw bad(key, v, "must be a string", "text");
        }
        return v.asText();
    }

    private String choice(JsonNode parent, String key, String allowed) {
        String v = string(parent, key);
        for (String a : allowed.split(", ")) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw bad(key, parent.get(leaf(key)), "is not supported", allowed);
    }

    private boolean bool(JsonNode parent, String key) {
        JsonNode v = parent.get(leaf(key));
        if (!v.isBoolean()) {
            throw bad(key, v, "must be true or false", "true, false");
        }
        return v.asBoolean();
    }

    private int integer(JsonNode parent, String key, int min, int max) {
        JsonNode v = parent.get(leaf(key));
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw bad(key, v, v.isIntegralNumber() ? "is out of range" : "must be an integer",
                    "an integer in " + min + ".." + max);
        }
        return v.asInt();
    }

    private double number(JsonNode parent, String key, double min, double max) {
        JsonNode v = parent.get(leaf(key));
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw bad(key, v, v.isNumber() ? "is out of range" : "must be a number", "a number in " + min + ".." + max);
        }
        return v.asDouble();
    }

    private void onlyFor(QuantAlgo algo, String key, QuantAlgo... algos) {
        for (QuantAlgo a : algos) {
            if (a == algo) {
                return;
            }
        }
        StringBuilder names = new StringBuilder();
        for (QuantAlgo a : algos) {
            names.append(names.isEmpty() ? "" : " or ").append(a.configName());
        }
        throw new TinyrtException(source + ": " + key + " does not apply to quantization.algorithm "
                + algo.configName() + "; allowed only with " + names + " (remove the key or change the algorithm)");
    }

    private static String leaf(String key) {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    private TinyrtException bad(String key, JsonNode value, String problem, String allowed) {
        String shown = value == null ? "null" : value.isTextual() ? "\"" + value.asText() + "\"" : value.toString();
        return new TinyrtException(source + ": " + key + ": " + shown + " " + problem + "; allowed: " + allowed);
    }
}
