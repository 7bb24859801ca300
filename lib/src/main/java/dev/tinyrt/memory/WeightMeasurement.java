package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.quant.KvCacheQuant;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Weights of one precision, computed ({@link MemoryFormulas#weightBytes} + the RoPE tables) and measured: the
 * model is loaded on the backend and the memory it took is read from the process (or device). Quantized
 * precisions are converted to a TensorRT-LLM checkpoint first; where the backend cannot load one yet, the bytes of
 * its weights in the engine's canonical forms are reported instead, with the backend's reason.
 */
public final class WeightMeasurement {
    /** Tokens of the forward pass that brings every weight page in (and nothing else of note). */
    private static final int[] TOUCH_PROMPT = {1, 3, 4, 5, 6, 7};

    /**
     * @param loads     whether the backend loaded the weights
     * @param loadError the backend's reason when it did not
     */
    public record Result(WeightPrecision precision, String source, boolean loads, String loadError,
                         long weightBytes, long ropeBytes, Component component) {
        public ObjectNode toJson() {
            ObjectNode n = component.toJson();
            n.put("precision", precision.label());
            n.put("source", source);
            n.put("loads", loads);
            if (loadError != null) {
                n.put("load_error", loadError);
            }
            n.put("computed_weight_bytes", weightBytes);
            n.put("computed_rope_table_bytes", ropeBytes);
            return n;
        }
    }

    /** Converts an HF checkpoint into {@code work} when the precision is quantized, then measures. */
    public static Result measure(Path hfDir, WeightPrecision p, LoadedModel.Options options, MemoryProbe probe,
                                 Path work, Path calibration) {
        if (!p.quantized()) {
            return measureLoaded(hfDir, p, "HF checkpoint, converted at load", new LoadedModel.Options(
                    options.backend(), p.storage(), options.threads()), probe);
        }
        Path out = work.resolve("trtllm-" + p.label());
        TrtllmConverter.convert(hfDir, buildConfig(p, LlamaConfig.read(hfDir.resolve("config.json")), calibration),
                null, out);
        return measureCheckpoint(out, p, new LoadedModel.Options(options.backend(),
                dev.tinyrt.model.StoragePrecision.AUTO, options.threads()), probe);
    }

    /** A TensorRT-LLM checkpoint directory as it is (--engine). */
    public static Result measureCheckpoint(Path dir, WeightPrecision p, LoadedModel.Options options,
                                           MemoryProbe probe) {
        String source = "TensorRT-LLM checkpoint (" + TrtllmConfig.read(dir).quantization().algo().configName() + ")";
        try {
            return measureLoaded(dir, p, source, options, probe);
        } catch (UnsupportedOperationException e) {
            // a backend without kernels for this weight form says so this way (CpuBackend.weight)
            return canonical(dir, p, source, options.backend() + " backend cannot load it yet: " + e.getMessage());
        }
    }

    private static Result measureLoaded(Path dir, WeightPrecision p, String source, LoadedModel.Options options,
                                        MemoryProbe probe) {
        try (IdsOnlyView view = new IdsOnlyView(dir)) {
            MemoryProbe watch = probe.watching(view.realDirectory());
            MemorySnapshot before = watch.snapshot();
            MemorySnapshot loaded;
            MemorySnapshot touched;
            LlamaConfig config;
            try (LoadedModel m = LoadedModel.open(view.path(), options)) {
                loaded = watch.snapshot();
                m.model().lastLogits(TOUCH_PROMPT.clone());
                touched = watch.snapshot();
                config = m.config();
            }
            // the copy the engine made is in heap/native/device at load; mapped pages come in on first use
            Measured measured = Measured.between(before, loaded, before, touched);
            long weights = MemoryFormulas.weightBytes(config, effective(p, config));
            long rope = ropeBytes(config);
            Component c = new Component("weights " + p.label(), weights + rope, measured,
                    explain(weights + rope, measured));
            return new Result(p, source, true, null, weights, rope, c);
        }
    }

    /** The weights in the engine's canonical forms, summed, for a checkpoint the backend cannot load. */
    private static Result canonical(Path dir, WeightPrecision p, String source, String reason) {
        try (TrtllmCheckpoint ckpt = TrtllmCheckpoint.open(dir)) {
            LlamaConfig config = ckpt.config().model();
            long bytes = 0;
            for (WeightData d : all(ckpt.layout(), config.numLayers())) {
                bytes += d.byteSize();
            }
            long weights = MemoryFormulas.weightBytes(config, p);
            Measured measured = Measured.of(bytes, "sum of the canonical weight forms read from the checkpoint "
                    + "(WeightData.byteSize: what the engine holds once a backend loads them)");
            Component c = new Component("weights " + p.label(), weights, measured,
                    Math.abs(bytes - weights) <= Component.TOLERANCE * weights ? null
                            : "the checkpoint's canonical forms differ from the formula: " + bytes + " vs " + weights);
            return new Result(p, source, false, reason, weights, 0, c);
        }
    }

    static List<WeightData> all(WeightLayout layout, int layers) {
        List<WeightData> list = new ArrayList<>();
        list.add(layout.embedding());
        if (layout.lmHead() != null) {
            list.add(layout.lmHead());
        }
        list.add(layout.finalNorm());
        for (int l = 0; l < layers; l++) {
            list.add(layout.inputNorm(l));
            list.add(layout.postAttentionNorm(l));
            list.addAll(layout.qkv(l));
            list.add(layout.attentionOut(l));
            list.addAll(layout.gateUp(l));
            list.add(layout.down(l));
        }
        return list;
    }

    /** AUTO means "as stored": the element size of the checkpoint's dtype. */
    private static WeightPrecision effective(WeightPrecision p, LlamaConfig config) {
        if (p != WeightPrecision.AUTO) {
            return p;
        }
        return switch (String.valueOf(config.torchDtype())) {
            case "float16" -> WeightPrecision.FP16;
            case "bfloat16" -> WeightPrecision.BF16;
            default -> WeightPrecision.FP32;
        };
    }

    /** cos and sin, {@code [max_positions, head_dim/2]} fp32 each (model.RopeTable). */
    static long ropeBytes(LlamaConfig c) {
        return 4L * c.maxPositionEmbeddings() * c.headDim();
    }

    /** Why measured and computed weights differ, from the parts of the measurement. */
    static String explain(long computed, Measured m) {
        if (Math.abs(m.bytes() - computed) <= Component.TOLERANCE * computed) {
            return null;
        }
        if (m.device() != 0) {
            return String.format(Locale.ROOT, "the device's used memory grew by %,d bytes for %,d bytes of weights: "
                    + "the backend's own copies (the CUDA backend keeps weights in fp16 whatever the host precision), "
                    + "its cuBLAS workspace and stream (created with it), and the allocator's 2 MiB granularity",
                    m.bytes(), computed);
        }
        long own = m.heap() + m.nativeBytes();
        if (m.mapped() > 0 && Math.abs(own - computed) <= Component.TOLERANCE * computed) {
            return String.format(Locale.ROOT, "the engine's own converted copy (heap + native: %,d bytes) matches; "
                    + "the other %,d bytes are pages of the checkpoint file that the conversion read and that stay "
                    + "mapped and resident (file-backed: the OS can drop them, the engine never reads them again)",
                    own, m.mapped());
        }
        if (m.mappedSize() > 0 && Math.abs(m.mappedSize() - computed) <= Component.TOLERANCE * computed) {
            return String.format(Locale.ROOT, "the weights are used in place from the mapped checkpoint: %,d bytes "
                    + "mapped (%+.1f %% from computed), %,d of them resident (pages never read stay on disk: "
                    + "embedding rows of tokens the measuring step did not use), plus %,d bytes of model objects on "
                    + "the heap (RoPE tables, the tensor index, weight objects)", m.mappedSize(),
                    100.0 * (m.mappedSize() - computed) / computed, m.mapped(), own);
        }
        long excess = m.bytes() - computed;
        if (m.nativeBytes() > 0 && excess > 0 && excess <= (1 + Component.TOLERANCE) * own) {
            // quantized CPU weights: linear layers copied into the kernels' layout, the rest used in place
            return String.format(Locale.ROOT, "the kernels' own copies of the weights they re-lay out (heap + native: "
                    + "%,d bytes) and the weights used in place from the mapped checkpoint (%,d of the %,d resident "
                    + "mapped bytes) make the computed size; the other %,d bytes are checkpoint pages the copies "
                    + "were read from, still resident (those of weights rearranged from TensorRT-LLM's layout at "
                    + "load are not released; file-backed: the OS can drop them, the engine never reads them again)", own,
                    m.mapped() - excess, m.mapped(), excess);
        }
        return String.format(Locale.ROOT, "measured heap %,d + native %,d + mapped %,d bytes against %,d computed",
                m.heap(), m.nativeBytes(), m.mapped(), computed);
    }

    /** A conversion config for one precision: no KV quantization, small calibration (memory does not need more). */
    static BuildConfig buildConfig(WeightPrecision p, LlamaConfig model, Path calibration) {
        int seqLen = Math.min(256, model.maxPositionEmbeddings());
        return new BuildConfig(Path.of("memory_analysis (" + p.label() + ")"), "memory analysis " + p.label(),
                "float16", new BuildConfig.Quantization(p.algo(), p.groupSize(), KvCacheQuant.NONE, 0.5f, 20, false,
                false), new BuildConfig.Calibration(calibration == null ? null : calibration.toString(), 16, seqLen,
                1024), new BuildConfig.BuildLimits(64, model.maxPositionEmbeddings(), model.maxPositionEmbeddings(),
                8192, 32));
    }
}
