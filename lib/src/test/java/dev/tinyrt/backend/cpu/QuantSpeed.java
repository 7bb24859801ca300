package dev.tinyrt.backend.cpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.ProjectHome;
import dev.tinyrt.bench.CpuSpeed;
import dev.tinyrt.bench.RunInfo;
import dev.tinyrt.bench.Stats;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.StoragePrecision;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Weight bytes and CPU decode speed per precision of the TinyLlama-1.1B-shaped checkpoint (the random preset
 * {@code tinyllama-1.1b}, seed 0): converts it with each {@code configs/tinyllama_<precision>.yaml} (the
 * calibrated algorithms on 4 samples of 64 tokens: the weights are random, only bytes and speed are measured
 * here), then measures each checkpoint in a fresh JVM (no JIT profile carried over) with {@link CpuSpeed}, in
 * rounds that interleave the precisions so that each sees the shared machine's load alike, and writes one JSON
 * with {@link RunInfo} provenance. Not a test; after {@code mvn -f lib/pom.xml test-compile
 * dependency:build-classpath -Dmdep.outputFile=cp.txt}, from lib/:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp target/test-classes:target/classes:$(cat cp.txt) dev.tinyrt.backend.cpu.QuantSpeed \
 *   --out ../data/results/cpu_quant_speed_tinyllama-1.1b.json [--work DIR] [--threads N] [--rounds N]
 *   [--decode-tokens N] [PRECISION...]
 * </pre>
 * Precisions: fp16 int8 int4 int4_awq w8a8_sq fp8 (the default: all).
 */
public final class QuantSpeed {
    private static final List<String> ALL = List.of("fp16", "int8", "int4", "int4_awq", "w8a8_sq", "fp8");
    private static final String FAST_CALIBRATION = "  samples: 4\n  seq_len: 64\n  awq_tokens: 256\n";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private QuantSpeed() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--measure")) {
            measure(Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            return;
        }
        Path out = null;
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "tinyrt-quant-speed");
        int threads = Runtime.getRuntime().availableProcessors();
        int rounds = 5;
        int decodeTokens = 64;
        List<String> precisions = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--decode-tokens" -> decodeTokens = Integer.parseInt(args[++i]);
                default -> precisions.add(args[i]);
            }
        }
        if (precisions.isEmpty()) {
            precisions.addAll(ALL);
        }
        ObjectNode result = RunInfo.collect("java dev.tinyrt.backend.cpu.QuantSpeed " + String.join(" ", args));
        Path hf = RandomCheckpoint.cachedPreset("tinyllama-1.1b", 0);
        result.put("model", "random preset tinyllama-1.1b, seed 0, fp16 (RandomCheckpoint.cachedPreset)");
        result.put("threads", threads);
        result.put("decode", "tokens/s of " + decodeTokens + " greedy tokens after a 128-token prompt, one run per "
                + "precision per round (after a warm-up run), rounds interleaving the precisions");
        result.put("note", "2-core machine shared with other jobs: speeds vary with their load (load_avg_1m, read "
                + "before each run); medians over rounds are still noisy");
        Map<String, Path> dirs = new java.util.LinkedHashMap<>();
        Map<String, ObjectNode> rows = new java.util.LinkedHashMap<>();
        for (String p : precisions) {
            Path dir = convert(hf, p, work);
            dirs.put(p, dir);
            ObjectNode row = JSON.createObjectNode();
            row.put("precision", p);
            row.put("config", "configs/tinyllama_" + p + ".yaml");
            row.put("quant_algo", TrtllmConfig.read(dir).quantization().algo().configName());
            Path file = dir.resolve(TrtllmConfig.WEIGHTS_FILE);
            row.put("checkpoint_file_bytes", Files.size(file));
            row.set("checkpoint_tensor_bytes", tensorBytes(file));
            row.putArray("runs");
            rows.put(p, row);
        }
        for (int round = 0; round < rounds; round++) {
            for (String p : precisions) {
                ObjectNode run = child(dirs.get(p), threads, decodeTokens);
                ObjectNode row = rows.get(p);
                row.put("engine_weight_bytes", run.remove("engine_weight_bytes").asLong());
                ((ArrayNode) row.get("runs")).add(run);
                System.err.printf("round %d %s: decode %.2f tok/s (load %.2f)%n", round + 1, p,
                        run.get("decode_tokens_per_s").asDouble(), run.get("load_avg_1m").asDouble());
            }
        }
        ArrayNode out2 = result.putArray("precisions");
        for (ObjectNode row : rows.values()) {
            double[] decode = new double[rounds];
            double[] prefill = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                decode[i] = row.get("runs").get(i).get("decode_tokens_per_s").asDouble();
                prefill[i] = row.get("runs").get(i).get("prefill_128_tokens_per_s").asDouble();
            }
            row.set("decode_tokens_per_s", Stats.of(decode).toJson());
            row.set("prefill_128_tokens_per_s", Stats.of(prefill).toJson());
            out2.add(row);
        }
        String json = JSON.writeValueAsString(result);
        System.out.println(json);
        if (out != null) {
            Files.writeString(out, json + "\n");
        }
    }

    /** The checkpoint for one precision, converted once into {@code work}. */
    private static Path convert(Path hf, String precision, Path work) throws IOException {
        Path dir = work.resolve("tinyllama-1.1b-" + precision);
        if (Files.isRegularFile(dir.resolve(TrtllmConfig.CONFIG_FILE))) {
            return dir;
        }
        Path config = ProjectHome.require().resolve("configs/tinyllama_" + precision + ".yaml");
        String yaml = Files.readString(config);
        if (yaml.contains("\ncalibration:")) {
            yaml = yaml.replaceAll("(?m)^  (samples|seq_len|awq_tokens):.*\\n", "")
                    .replace("\ncalibration:\n", "\ncalibration:\n" + FAST_CALIBRATION);
        }
        Files.createDirectories(work);
        Path fast = work.resolve(precision + ".yaml");
        Files.writeString(fast, yaml);
        System.err.println("converting " + precision + " into " + dir);
        TrtllmConverter.convert(hf, BuildConfigLoader.load(fast), null, dir);
        return dir;
    }

    /** Bytes of the checkpoint's tensors by role: linear weights, their scales, embedding and lm_head, norms. */
    private static ObjectNode tensorBytes(Path file) {
        Map<String, Long> bytes = new TreeMap<>();
        try (TensorSource s = SafetensorsFile.open(file)) {
            for (String name : s.names()) {
                TensorInfo info = s.info(name);
                String role = name.contains("vocab_embedding") || name.startsWith("lm_head") ? "embedding_and_lm_head"
                        : name.contains("layernorm") || name.contains("ln_f") ? "norms"
                        : name.endsWith(".weight") ? "linear_weights" : "scales";
                bytes.merge(role, info.byteLength(), Long::sum);
            }
        }
        ObjectNode n = JSON.createObjectNode();
        bytes.forEach(n::put);
        return n;
    }

    /** Runs {@link #measure} in a fresh JVM with this one's class path and flags. */
    private static ObjectNode child(Path dir, int threads, int decodeTokens) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx8g", "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), QuantSpeed.class.getName(), "--measure", dir.toString(),
                String.valueOf(threads), String.valueOf(decodeTokens)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("measuring " + dir + " failed:\n" + stdout);
        }
        return (ObjectNode) JSON.readTree(stdout);
    }

    /**
     * In the child JVM: engine weight bytes, load time, then after a warm-up run one prefill of 128 tokens and one
     * greedy decode of {@code decodeTokens} after a 128-token prompt.
     */
    private static void measure(Path dir, int threads, int decodeTokens) throws IOException {
        long t0 = System.nanoTime();
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, threads))) {
            ObjectNode n = JSON.createObjectNode();
            n.put("load_s", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
            n.put("engine_weight_bytes", m.model().weightBytes());
            n.put("load_avg_1m", Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]));
            ObjectNode speed = CpuSpeed.run(m, new CpuSpeed.Settings(List.of(128), 128, decodeTokens, 1, 1));
            n.put("decode_tokens_per_s", speed.get("decode").get("tokens_per_s").get("median").asDouble());
            n.put("prefill_128_tokens_per_s", speed.get("prefill").get(0).get("tokens_per_s").get("median").asDouble());
            System.out.println(JSON.writeValueAsString(n));
        }
    }
}
