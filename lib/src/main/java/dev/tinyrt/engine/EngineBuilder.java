package dev.tinyrt.engine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.cuda.CudaBackend;
import dev.tinyrt.backend.cuda.CudaDevice;
import dev.tinyrt.backend.cuda.TacticRecord;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.checkpoint.TrtllmNames;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.SafetensorsWriter;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.quant.QuantAlgo;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Turns a TensorRT-LLM checkpoint into an engine directory (see {@link EngineDir}), as trtllm-build does: checks the
 * limits against the model, re-packs the weights for tinyrt's kernels, and — for the CUDA backend — times the
 * candidate kernels of every GEMM shape a step within the limits runs, and records the winners (TensorRT's
 * tactics). A CPU engine records no tactics, and says so.
 */
public final class EngineBuilder {
    /** Largest decode batch whose GEMMs have a GEMV candidate; bigger ones always use cuBLAS. */
    private static final int TIMED_DECODE_ROWS = 8;

    private EngineBuilder() {
    }

    /** What was built, for the script's summary. */
    public record Result(Path directory, String backend, int tactics, String tacticsNote, long weightBytes) {
    }

    public static Result build(Path checkpoint, Path out, BuildConfig.BuildLimits limits, String backend,
                               PrintStream log) {
        if (!Files.isDirectory(checkpoint)) {
            throw new TinyrtException("checkpoint directory not found: " + checkpoint);
        }
        if (EngineDir.isEngine(checkpoint)) {
            throw new TinyrtException(checkpoint + " is already an engine directory; give the TensorRT-LLM checkpoint "
                    + "it was built from");
        }
        if (!TrtllmConfig.isCheckpoint(checkpoint)) {
            throw new TinyrtException(checkpoint + " is not a TensorRT-LLM checkpoint (config.json with \"architecture\""
                    + " and " + TrtllmConfig.WEIGHTS_FILE + "); convert a HF model first: jbang "
                    + "jbang-scripts/convert_checkpoint.java --model HF_DIR --out CKPT_DIR");
        }
        TrtllmConfig config = TrtllmConfig.read(checkpoint);
        checkLimits(limits, config.model());
        String target = resolveBackend(backend);
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (!Files.isDirectory(out) || s.findAny().isPresent()) {
                    throw new TinyrtException("output " + out + " exists and is not an empty directory; choose a new "
                            + "--out or remove it");
                }
            } catch (IOException e) {
                throw new TinyrtException("cannot read " + out + ": " + e.getMessage(), e);
            }
        }
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        try {
            deleteTree(partial);
            Files.createDirectories(partial);
            long bytes = repack(checkpoint, config, partial);
            copyOtherFiles(checkpoint, partial);
            JsonNode pretrained = EngineDir.JSON.readTree(checkpoint.resolve(TrtllmConfig.CONFIG_FILE).toFile());
            List<TacticRecord> tactics = List.of();
            EngineDir.Gpu gpu = null;
            String note = "not timed: built for the CPU backend, which has no kernel variants to choose";
            EngineDir.writeConfig(partial, pretrained, limits, target, null, tactics, note, config.dtype());
            if (target.equals("cuda")) {
                log.println("timing GEMM tactics on " + CudaDevice.get().name() + " ...");
                try (LoadedModel m = LoadedModel.open(partial, new LoadedModel.Options("cuda", StoragePrecision.AUTO,
                        0))) {
                    CudaBackend b = (CudaBackend) m.backend();
                    tactics = timeTactics(m.model(), b, limits);
                    gpu = new EngineDir.Gpu(b.device().name(), b.device().computeCapability(), b.kernelSourcesHash());
                }
                note = "timed on " + gpu.name() + ": GEMV vs cuBLAS for every decode batch of 1.."
                        + Math.min(limits.maxBatchSize(), TIMED_DECODE_ROWS) + " rows; larger batches use cuBLAS";
                EngineDir.writeConfig(partial, pretrained, limits, target, gpu, tactics, note, config.dtype());
            }
            Files.createDirectories(out.toAbsolutePath().getParent());
            if (Files.exists(out)) {
                Files.delete(out);
            }
            Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE);
            return new Result(out, target, tactics.size(), note, bytes);
        } catch (IOException e) {
            throw new TinyrtException("cannot write the engine " + out + ": " + e.getMessage(), e);
        } finally {
            try {
                deleteTree(partial);
            } catch (IOException ignored) {
                // best effort: a leftover .partial directory is replaced by the next build
            }
        }
    }

    /** The checkpoint's max_position_embeddings (the default max_seq_len), with the usual one-line errors. */
    public static int contextOf(Path checkpoint) {
        if (!Files.isDirectory(checkpoint)) {
            throw new TinyrtException("checkpoint directory not found: " + checkpoint);
        }
        if (!TrtllmConfig.isCheckpoint(checkpoint)) {
            throw new TinyrtException(checkpoint + " is not a TensorRT-LLM checkpoint (config.json with \"architecture\""
                    + " and " + TrtllmConfig.WEIGHTS_FILE + "); convert a HF model first: jbang "
                    + "jbang-scripts/convert_checkpoint.java --model HF_DIR --out CKPT_DIR");
        }
        return TrtllmConfig.read(checkpoint).model().maxPositionEmbeddings();
    }

    /** The limits trtllm-build checks, with the allowed range in every message. */
    static void checkLimits(BuildConfig.BuildLimits l, LlamaConfig model) {
        int context = model.maxPositionEmbeddings();
        positive("max_batch_size", l.maxBatchSize());
        positive("max_num_tokens", l.maxNumTokens());
        if (l.maxSeqLen() < 2 || l.maxSeqLen() > context) {
            throw new TinyrtException("--max-seq-len " + l.maxSeqLen() + " is out of range; allowed: 2.." + context
                    + " (the model's max_position_embeddings)");
        }
        if (l.maxInputLen() < 1 || l.maxInputLen() >= l.maxSeqLen()) {
            throw new TinyrtException("--max-input-len " + l.maxInputLen() + " is out of range; allowed: 1.."
                    + (l.maxSeqLen() - 1) + " (below --max-seq-len, leaving room for one generated token)");
        }
        if (l.tokensPerBlock() < 1 || l.tokensPerBlock() > 1024 || Integer.bitCount(l.tokensPerBlock()) != 1) {
            throw new TinyrtException("--tokens-per-block " + l.tokensPerBlock() + " is not allowed; allowed: a power "
                    + "of two in 1..1024, such as 16, 32 or 64");
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new TinyrtException("--" + name.replace('_', '-') + " " + value + " is out of range; allowed: >= 1");
        }
    }

    private static String resolveBackend(String backend) {
        return switch (backend.toLowerCase(Locale.ROOT)) {
            case "cpu" -> "cpu";
            case "cuda" -> {
                CudaDevice.get();  // one clear message when there is no GPU or driver
                yield "cuda";
            }
            case "auto" -> CudaDevice.unavailableReason().isEmpty() ? "cuda" : "cpu";
            default -> throw new TinyrtException("unknown backend \"" + backend + "\"; choose cpu, cuda or auto");
        };
    }

    /** Copies every tensor, fusing each layer's dense gate_proj and up_proj into one matrix; returns the bytes. */
    private static long repack(Path checkpoint, TrtllmConfig config, Path out) {
        long bytes = 0;
        try (SafetensorsFile source = SafetensorsFile.open(checkpoint.resolve(TrtllmConfig.WEIGHTS_FILE));
             Arena arena = Arena.ofConfined()) {
            SafetensorsWriter writer = new SafetensorsWriter();
            source.metadata().forEach(writer::metadata);
            boolean dense = config.quantization().algo() == QuantAlgo.NONE;
            List<String> fused = new ArrayList<>();
            for (int l = 0; dense && l < config.model().numLayers(); l++) {
                fused.add(TrtllmNames.fc(l) + ".weight");
                fused.add(TrtllmNames.gate(l) + ".weight");
            }
            for (String name : source.names()) {
                if (fused.contains(name)) {
                    continue;
                }
                TensorInfo info = source.info(name);
                writer.add(name, info.dtype(), info.shape(), source.data(name));
                bytes += info.byteLength();
            }
            for (int l = 0; dense && l < config.model().numLayers(); l++) {
                TensorInfo gate = source.info(TrtllmNames.fc(l) + ".weight");
                TensorInfo up = source.info(TrtllmNames.gate(l) + ".weight");
                MemorySegment both = arena.allocate(gate.byteLength() + up.byteLength(), 16);
                both.copyFrom(source.data(gate.name()));
                both.asSlice(gate.byteLength()).copyFrom(source.data(up.name()));
                writer.add(EngineWeightLayout.gateUpName(l), gate.dtype(),
                        new long[]{gate.shape()[0] + up.shape()[0], gate.shape()[1]}, both);
                bytes += both.byteSize();
            }
            writer.write(out.resolve(TrtllmConfig.WEIGHTS_FILE));
        }
        return bytes;
    }

    /** Tokenizer and generation config travel with the engine, as trtllm-build leaves them to the runtime's dir. */
    private static void copyOtherFiles(Path checkpoint, Path out) throws IOException {
        try (Stream<Path> files = Files.list(checkpoint)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f) && !name.equals(TrtllmConfig.CONFIG_FILE) && !name.endsWith(".safetensors")) {
                    Files.copy(f, out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /**
     * Runs one decode step for every batch size 1..min(max_batch_size, 8) eagerly, so the backend times GEMV
     * against cuBLAS for each GEMM shape (larger batches and prefill chunks have only the cuBLAS candidate).
     */
    private static List<TacticRecord> timeTactics(LlamaModel model, CudaBackend b, BuildConfig.BuildLimits limits) {
        b.useGraphs(false);
        b.autotune(true);
        b.resetTactics();
        int rows = Math.min(limits.maxBatchSize(), TIMED_DECODE_ROWS);
        int block = limits.tokensPerBlock();
        try (KvCache cache = b.kvCache(model.config(), rows, block)) {
            for (int n = 1; n <= rows; n++) {
                int[] tokens = new int[n];
                int[] positions = new int[n];
                int[] logitRows = new int[n];
                List<StepBatch.Chunk> chunks = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    tokens[i] = 1 % model.config().vocabSize();
                    logitRows[i] = i;
                    chunks.add(new StepBatch.Chunk(i, 1, 1, new int[]{i}));
                }
                model.forward(new StepBatch(tokens, positions, chunks, logitRows), cache);
            }
        }
        return b.tactics();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
