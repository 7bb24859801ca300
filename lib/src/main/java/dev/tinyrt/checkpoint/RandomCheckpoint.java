package dev.tinyrt.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.cli.Progress;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.Numerics;
import dev.tinyrt.io.SafetensorsWriter;
import dev.tinyrt.model.LlamaConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a HuggingFace-format Llama checkpoint with seeded random weights: config.json, model.safetensors,
 * generation_config.json and, for the Llama-2 vocabulary, the bundled tokenizer files. The same seed, config and
 * dtype always give the same bytes.
 */
public final class RandomCheckpoint {
    /** Gaussian weights are drawn in chunks of this many values, each from its own seeded stream. */
    private static final int CHUNK = 1 << 20;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String[] TOKENIZER_FILES = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
            "special_tokens_map.json"};

    /**
     * @param initStd    standard deviation of linear and embedding weights (HF initializes with 0.02)
     * @param normJitter standard deviation of norm gains around 1 (HF initializes them to exactly 1; a jitter makes
     *                   parity tests notice a norm applied wrongly)
     * @param spelling   config.json as transformers 4.x or 5.x writes it
     * @param tokenizerDir tokenizer files to copy, or {@code null} for none
     */
    public record Options(long seed, DType dtype, double initStd, double normJitter, LlamaConfig.Spelling spelling,
                          Path tokenizerDir) {
    }

    private RandomCheckpoint() {
    }

    public static LlamaConfig preset(String name) {
        return switch (name) {
            case "tinyllama-1.1b" -> new LlamaConfig(32000, 2048, 5632, 22, 32, 4, 64, 2048, 1e-5f, 10000.0, false,
                    "float16", 1, List.of(2));
            case "tiny" -> new LlamaConfig(32000, 128, 352, 2, 4, 2, 32, 512, 1e-5f, 10000.0, false, "float16", 1,
                    List.of(2));
            default -> throw new TinyrtException("unknown preset \"" + name + "\"; choose tinyllama-1.1b or tiny");
        };
    }

    /**
     * A preset written once (fp16, HF 4.x spelling, the bundled tokenizer when found) into the user's cache,
     * {@code ~/.cache/tinyrt/models} or {@code TINYRT_CACHE/models}; later calls reuse it.
     */
    public static Path cachedPreset(String preset, long seed) {
        String base = System.getenv().getOrDefault("TINYRT_CACHE",
                Path.of(System.getProperty("user.home"), ".cache", "tinyrt").toString());
        Path dir = Path.of(base, "models", preset + "-seed" + seed + "-fp16");
        Path done = dir.resolve(".complete");
        if (!Files.exists(done)) {
            Path tokenizer = dev.tinyrt.ProjectHome.find().map(h -> h.resolve("data/tokenizer"))
                    .filter(Files::isDirectory).orElse(null);
            System.err.println("generating " + preset + " (seed " + seed + ") into " + dir);
            write(preset(preset), new Options(seed, DType.F16, 0.02, 0.0, LlamaConfig.Spelling.HF4, tokenizer), dir);
            try {
                Files.writeString(done, "ok\n");
            } catch (IOException e) {
                throw new TinyrtException("cannot write " + done + ": " + e.getMessage(), e);
            }
        }
        return dir;
    }

    public static void write(LlamaConfig config, Options options, Path out) {
        DType dtype = options.dtype();
        if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
            throw new TinyrtException("checkpoint dtype must be fp32, fp16 or bf16, not " + dtype);
        }
        LlamaConfig cfg = config.withDtype(switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            default -> "bfloat16";
        });
        try {
            Files.createDirectories(out);
            List<Spec> specs = tensors(cfg);
            try (Arena arena = Arena.ofShared();
                 Progress progress = Progress.start("random weights", specs.size(), "tensors")) {
                SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
                for (int i = 0; i < specs.size(); i++) {
                    Spec s = specs.get(i);
                    writer.add(s.name, dtype, s.shape, values(s, i, options, dtype, arena));
                    progress.step(1);
                }
                writer.write(out.resolve("model.safetensors"));
            }
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            json.writeValue(out.resolve("config.json").toFile(), cfg.toHfJson(options.spelling()));
            ObjectNode gen = json.createObjectNode();
            gen.put("_from_model_config", true);
            gen.put("bos_token_id", cfg.bosTokenId());
            gen.put("eos_token_id", cfg.eosTokenIds().getFirst());
            json.writeValue(out.resolve("generation_config.json").toFile(), gen);
            if (options.tokenizerDir() != null) {
                for (String f : TOKENIZER_FILES) {
                    Path src = options.tokenizerDir().resolve(f);
                    if (Files.isRegularFile(src)) {
                        Files.copy(src, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new TinyrtException("cannot write checkpoint to " + out + ": " + e.getMessage(), e);
        }
    }

    private record Spec(String name, long[] shape, boolean norm) {
        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Tensors in the order HF's save_pretrained writes them (alphabetical does not matter to readers). */
    private static List<Spec> tensors(LlamaConfig c) {
        List<Spec> s = new ArrayList<>();
        int h = c.hiddenSize();
        s.add(new Spec("model.embed_tokens.weight", new long[]{c.vocabSize(), h}, false));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            s.add(new Spec(p + "self_attn.q_proj.weight", new long[]{c.qDim(), h}, false));
            s.add(new Spec(p + "self_attn.k_proj.weight", new long[]{c.kvDim(), h}, false));
            s.add(new Spec(p + "self_attn.v_proj.weight", new long[]{c.kvDim(), h}, false));
            s.add(new Spec(p + "self_attn.o_proj.weight", new long[]{h, c.qDim()}, false));
            s.add(new Spec(p + "mlp.gate_proj.weight", new long[]{c.intermediateSize(), h}, false));
            s.add(new Spec(p + "mlp.up_proj.weight", new long[]{c.intermediateSize(), h}, false));
            s.add(new Spec(p + "mlp.down_proj.weight", new long[]{h, c.intermediateSize()}, false));
            s.add(new Spec(p + "input_layernorm.weight", new long[]{h}, true));
            s.add(new Spec(p + "post_attention_layernorm.weight", new long[]{h}, true));
        }
        s.add(new Spec("model.norm.weight", new long[]{h}, true));
        if (!c.tieWordEmbeddings()) {
            s.add(new Spec("lm_head.weight", new long[]{c.vocabSize(), h}, false));
        }
        return s;
    }

    private static MemorySegment values(Spec s, int index, Options o, DType dtype, Arena arena) {
        long n = s.numel();
        MemorySegment seg = arena.allocate(n * dtype.byteSize(), 8);
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        double mean = s.norm ? 1.0 : 0.0;
        double std = s.norm ? o.normJitter() : o.initStd();
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom random = new SplittableRandom(o.seed() * 1_000_003L + index * 65_537L + c);
            long from = (long) c * CHUNK;
            long to = Math.min(n, from + CHUNK);
            for (long i = from; i < to; i++) {
                float v = (float) (mean + std * random.nextGaussian());
                switch (dtype) {
                    case F32 -> seg.setAtIndex(F32, i, v);
                    case F16 -> seg.setAtIndex(I16, i, Numerics.floatToF16(v));
                    default -> seg.setAtIndex(I16, i, Numerics.floatToBf16(v));
                }
            }
        });
        return seg;
    }
}
