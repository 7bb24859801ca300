package dev.tinyrt.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.cpu.CpuBackend;
import dev.tinyrt.backend.cuda.CudaBackend;
import dev.tinyrt.backend.cuda.CudaDevice;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.HfWeightLayout;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.Generator;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import dev.tinyrt.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * A model directory opened for inference: config, weights handed to a backend, the tokenizer when the directory
 * has one, and the ids that end generation. Close it to unmap the weights and free the backend.
 */
public final class LoadedModel implements AutoCloseable {
    private final Path directory;
    private final LlamaConfig config;
    private final TensorSource source;
    private final Backend backend;
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final List<Integer> eosIds;
    private final BuildConfig.BuildLimits limits;
    private final WeightLayout layout;
    private final TrtllmCheckpoint checkpoint;
    private final Map<KvCacheDtype, KvCacheScales.Source> kvScaleSources = new EnumMap<>(KvCacheDtype.class);

    private LoadedModel(Path directory, LlamaConfig config, TensorSource source, Backend backend, LlamaModel model,
                        Tokenizer tokenizer, List<Integer> eosIds, BuildConfig.BuildLimits limits, WeightLayout layout,
                        TrtllmCheckpoint checkpoint) {
        this.layout = layout;
        this.checkpoint = checkpoint;
        this.directory = directory;
        this.config = config;
        this.source = source;
        this.backend = backend;
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosIds = eosIds;
        this.limits = limits;
    }

    /**
     * Options for {@link #open}. {@code threads <= 0} means one per core. {@code kvCacheDtype}: AUTO stores the KV
     * cache as the checkpoint's {@code kv_cache_quant_algo} says (int8/fp8 with its scales), else in the backend's
     * own type; INT8/FP8 take the checkpoint's scales when it was quantized that way, else calibrate them
     * ({@link KvCacheScales}); FP16/FP32 force that type.
     */
    public record Options(String backend, StoragePrecision precision, int threads, KvCacheDtype kvCacheDtype) {
        public Options(String backend, StoragePrecision precision, int threads) {
            this(backend, precision, threads, KvCacheDtype.AUTO);
        }

        public static Options defaults() {
            return new Options("cpu", StoragePrecision.AUTO, 0);
        }

        public Options withKvCacheDtype(KvCacheDtype dtype) {
            return new Options(backend, precision, threads, dtype);
        }
    }

    /**
     * Opens a HuggingFace checkpoint directory, a TensorRT-LLM checkpoint directory (config.json with
     * TensorRT-LLM's keys + rank0.safetensors, as convert_checkpoint.java writes it, quantized or not), or an engine
     * directory (build_engine.java; docs/engine.md): its re-packed weights, its limits as the executor's defaults
     * and, on the GPU it was built on, its stored GEMM tactics instead of timing them now.
     */
    public static LoadedModel open(Path directory, Options options) {
        if (!Files.isDirectory(directory)) {
            throw new TinyrtException("model directory not found: " + directory);
        }
        EngineDir engine = EngineDir.isEngine(directory) ? EngineDir.read(directory) : null;
        boolean trtllm = engine == null && TrtllmConfig.isCheckpoint(directory);
        LlamaConfig config;
        TensorSource source = null;
        WeightLayout layout;
        Backend backend = null;
        TrtllmCheckpoint checkpoint = null;
        try {
            if (engine != null) {
                options = engineOptions(engine, options);
                config = engine.pretrained().model();
                source = SafetensorsFile.open(directory.resolve(TrtllmConfig.WEIGHTS_FILE));
                layout = new EngineWeightLayout(source, engine.pretrained());
            } else if (trtllm) {
                checkpoint = TrtllmCheckpoint.open(directory);
                config = checkpoint.config().model();
                source = checkpoint.source();
                layout = checkpoint.layout();
            } else {
                config = LlamaConfig.read(directory.resolve("config.json"));
                source = Checkpoints.open(directory);
                layout = new HfWeightLayout(source, config);
            }
            backend = createBackend(options);
            if (engine != null && backend instanceof CudaBackend cuda) {
                useStoredTactics(engine, cuda);
            }
            LlamaModel model = LlamaModel.load(config, layout, backend, options.precision());
            Tokenizer tokenizer = Files.isRegularFile(directory.resolve("tokenizer.json"))
                    ? LlamaTokenizer.load(directory) : null;
            LoadedModel loaded = new LoadedModel(directory, config, source, backend, model, tokenizer,
                    eosIds(directory, config), engine == null ? null : engine.limits(), layout, checkpoint);
            try {
                loaded.useKvCacheDtype(options.kvCacheDtype());
            } catch (RuntimeException e) {
                model.close();
                if (tokenizer != null) {
                    tokenizer.close();
                }
                throw e;  // the source and backend are closed below
            }
            return loaded;
        } catch (RuntimeException e) {
            if (source != null) {
                source.close();
            }
            if (backend != null) {
                backend.close();
            }
            throw e;
        }
    }

    /**
     * An engine runs on the backend it was built for ("auto" picks it) with the weights it holds: another backend
     * or a precision other than auto is refused with what to do instead.
     */
    private static Options engineOptions(EngineDir engine, Options options) {
        String wanted = options.backend().toLowerCase(Locale.ROOT);
        if (!wanted.equals("auto") && !wanted.equals(engine.backend())) {
            throw new TinyrtException("engine " + engine.directory() + " was built for the " + engine.backend()
                    + " backend; run it with --backend " + engine.backend() + " (or auto), or rebuild it with "
                    + "build_engine.java --backend " + wanted);
        }
        if (options.precision() != StoragePrecision.AUTO) {
            throw new TinyrtException("engine " + engine.directory() + " holds " + engine.pretrained().dtype()
                    + " weights fixed at build time; run it with --precision auto, or build another engine from a "
                    + "checkpoint of the precision you want");
        }
        return new Options(engine.backend(), options.precision(), options.threads());
    }

    /** Stored tactics hold only for the GPU and kernels they were timed with; elsewhere they are timed again. */
    private static void useStoredTactics(EngineDir engine, CudaBackend cuda) {
        EngineDir.Gpu built = engine.gpu();
        EngineDir.Gpu here = new EngineDir.Gpu(cuda.device().name(), cuda.device().computeCapability(),
                cuda.kernelSourcesHash());
        if (here.equals(built)) {
            cuda.useTactics(engine.tactics());
        } else {
            System.err.println("note: engine " + engine.directory() + " was tuned on " + (built == null ? "no GPU"
                    : built.name() + " (compute " + built.computeCapability() + ")") + "; this is " + here.name()
                    + " (compute " + here.computeCapability() + ")" + (built != null && built.name().equals(here.name())
                    ? " with other kernels" : "") + ": its GEMM tactics are timed again at first use");
        }
    }

    /** "auto" is CUDA when the driver loads, a device exists and the kernels were built; else the CPU. */
    static Backend createBackend(Options options) {
        String name = options.backend().toLowerCase(Locale.ROOT);
        return switch (name) {
            case "cpu" -> cpu(options);
            case "cuda" -> CudaBackend.create();
            case "auto" -> CudaDevice.unavailableReason().isEmpty() ? CudaBackend.create() : cpu(options);
            default -> throw new TinyrtException("unknown backend \"" + options.backend() + "\"; choose cpu, cuda or auto");
        };
    }

    private static Backend cpu(Options options) {
        return options.threads() > 0 ? new CpuBackend(options.threads()) : new CpuBackend();
    }

    /** generation_config.json's eos_token_id wins over config.json's, as in HF generate(). */
    private static List<Integer> eosIds(Path directory, LlamaConfig config) {
        Path gen = directory.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            try {
                JsonNode n = new ObjectMapper().readTree(gen.toFile());
                JsonNode eos = n.get("eos_token_id");
                if (eos != null && !eos.isNull()) {
                    return eos.isArray() ? java.util.stream.StreamSupport.stream(eos.spliterator(), false)
                            .map(JsonNode::asInt).toList() : List.of(eos.asInt());
                }
            } catch (IOException e) {
                throw new TinyrtException("cannot read " + gen + ": " + e.getMessage(), e);
            }
        }
        return config.eosTokenIds();
    }

    /**
     * A batching executor over this model. Without an explicit KV-cache size the CPU cache takes half the free
     * heap, at most enough for {@code maxBatchSize} full-context sequences.
     */
    public Executor executor(ExecutorConfig config) {
        if (config.kvCacheDtype().quantized()) {
            ensureKvScales(config.kvCacheDtype());
        }
        return new Executor(model, tokenizer, eosIds, config);
    }

    /** Makes {@code dtype} the KV-cache type of everything this model runs (see {@link Options}). */
    public void useKvCacheDtype(KvCacheDtype dtype) {
        KvCacheDtype d = dtype;
        if (d == KvCacheDtype.AUTO && checkpoint != null) {
            d = KvCacheScales.dtype(checkpoint.config().quantization().kvCache());
        }
        if (d.quantized()) {
            ensureKvScales(d);
            model.useKvCacheFormat(model.kvCacheFormat(d));
        } else {
            model.useKvCacheFormat(KvCacheFormat.of(d));
        }
    }

    /** Gives the model int8/fp8 KV-cache scales, from the checkpoint or by calibration, unless it has them. */
    private void ensureKvScales(KvCacheDtype dtype) {
        if (kvScaleSources.containsKey(dtype)) {
            return;
        }
        float[] scales = KvCacheScales.fromCheckpoint(checkpoint, dtype);
        KvCacheScales.Source from = KvCacheScales.Source.CHECKPOINT;
        if (scales == null) {
            scales = KvCacheScales.calibrate(model, layout, tokenizer, dtype);
            from = KvCacheScales.Source.CALIBRATION;
        }
        KvCacheFormat current = model.kvCacheFormat();
        model.useKvCacheFormat(KvCacheFormat.quantized(dtype, scales));  // remembers the scales
        model.useKvCacheFormat(current);
        kvScaleSources.put(dtype, from);
    }

    /**
     * Int8/fp8 KV-cache scales calibrated on {@code samples} (token ids, each a prefill from position 0) instead of
     * the calibration text, e.g. for a model without a tokenizer; not installed.
     */
    public float[] calibrateKvScales(KvCacheDtype dtype, List<int[]> samples) {
        return KvCacheScales.calibrate(model, layout, samples, dtype);
    }

    /** The KV-cache format the model runs with and where its scales came from. */
    public KvCacheScales.Resolved kvCache() {
        KvCacheFormat f = model.kvCacheFormat();
        return new KvCacheScales.Resolved(f, f.quantized() ? kvScaleSources.get(f.dtype()) : KvCacheScales.Source.NONE);
    }

    /** Default executor limits with the KV cache sized from free memory (0.9 of the GPU's on CUDA). */
    public ExecutorConfig defaultExecutorConfig() {
        return defaultExecutorConfig(ExecutorConfig.DEFAULT_KV_CACHE_FREE_GPU_MEM_FRACTION);
    }

    /**
     * Default executor limits with the KV cache sized from free memory: on CUDA {@code kvCacheFreeGpuMemFraction} of
     * the device's free memory now (weights loaded), keys and values as the model stores them (fp16, or int8/fp8), as TensorRT-LLM's
     * kv_cache_free_gpu_mem_fraction; on the CPU half the free Java heap (fp32). Either way at most what
     * max_batch_size full-context sequences can use.
     */
    public ExecutorConfig defaultExecutorConfig(double kvCacheFreeGpuMemFraction) {
        return defaultExecutorConfig(kvCacheFreeGpuMemFraction, 0);
    }

    /**
     * As {@link #defaultExecutorConfig(double)} for {@code maxBatchSize} sequences (0: the default or the engine's
     * build limit): the KV cache may then hold that many full-context sequences, memory permitting, so a larger
     * batch than the engine was built for is not silently capped by the build's.
     */
    public ExecutorConfig defaultExecutorConfig(double kvCacheFreeGpuMemFraction, int maxBatchSize) {
        if (!(kvCacheFreeGpuMemFraction > 0 && kvCacheFreeGpuMemFraction <= 1)) {
            throw new TinyrtException("kv_cache_free_gpu_mem_fraction must be in (0, 1], got "
                    + kvCacheFreeGpuMemFraction);
        }
        ExecutorConfig d = ExecutorConfig.defaults(KvCache.DEFAULT_BLOCK_SIZE);
        int byMemory;
        long bytesPerToken = model.kvBytesPerToken();  // as the backend stores the model's KV-cache type
        if (backend instanceof CudaBackend cuda) {
            long free = cuda.device().memoryInfo()[0];
            byMemory = ExecutorConfig.tokensForMemory(free, kvCacheFreeGpuMemFraction, bytesPerToken);
            if (byMemory < KvCache.DEFAULT_BLOCK_SIZE) {
                throw new TinyrtException(String.format("%.2f of the GPU's free memory (%d MiB) cannot hold one KV-cache "
                        + "block of %d tokens (%d bytes each): raise --kv-cache-free-gpu-mem-fraction or free memory",
                        kvCacheFreeGpuMemFraction, free >> 20, KvCache.DEFAULT_BLOCK_SIZE, bytesPerToken));
            }
        } else {
            Runtime rt = Runtime.getRuntime();
            long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
            byMemory = ExecutorConfig.tokensForMemory(free, 0.5, bytesPerToken);
        }
        if (limits != null) {  // an engine's build_config
            d = new ExecutorConfig(limits.maxBatchSize(), limits.maxNumTokens(), limits.maxInputLen(), d.kvCacheTokens(),
                    limits.tokensPerBlock(), d.prefixCaching(), d.policy());
        }
        if (maxBatchSize > 0) {
            d = d.withMaxBatchSize(maxBatchSize);
        }
        int context = limits != null ? limits.maxSeqLen() : config.maxPositionEmbeddings();
        int needed = (int) Math.min(Integer.MAX_VALUE, (long) d.maxBatchSize() * context);
        int tokens = Math.max(d.tokensPerBlock(), Math.min(byMemory, needed));
        return new ExecutorConfig(d.maxBatchSize(), d.maxNumTokens(), Math.min(d.maxInputLen(),
                config.maxPositionEmbeddings()), tokens, d.tokensPerBlock(), d.prefixCaching(), d.policy());
    }

    public Generator generator() {
        return new Generator(model, tokenizer, eosIds);
    }

    public Path directory() {
        return directory;
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaModel model() {
        return model;
    }

    public Backend backend() {
        return backend;
    }

    /** The tokenizer, or {@code null} when the directory has no tokenizer.json. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Tokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new TinyrtException(directory + " has no tokenizer.json: give token ids instead of text");
        }
        return tokenizer;
    }

    public List<Integer> eosIds() {
        return eosIds;
    }

    @Override
    public void close() {
        model.close();
        if (tokenizer != null) {
            tokenizer.close();
        }
        source.close();
        backend.close();
    }
}
