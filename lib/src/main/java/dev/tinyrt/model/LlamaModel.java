package dev.tinyrt.model;

import dev.tinyrt.backend.Backend;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.SampledTokens;
import dev.tinyrt.backend.SamplingRow;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;

import java.lang.foreign.Arena;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama forward pass, written once against {@link Backend}: embedding, per layer RMSNorm → fused qkv →
 * RoPE + KV-cache write → causal attention → output projection → residual add + RMSNorm → fused gate|up →
 * SwiGLU → down projection → residual add, then final norm and lm_head for the rows whose logits are wanted.
 */
public final class LlamaModel implements AutoCloseable {
    private record Layer(Weight inputNorm, Weight qkv, Weight attentionOut, Weight postNorm, Weight gateUp,
                         Weight down) {
    }

    private final LlamaConfig config;
    private final Backend backend;
    private final Arena arena;
    private final Weight embedding;
    private final Weight lmHead;
    private final Weight finalNorm;
    private final Layer[] layers;
    private final RopeTable rope;
    private final long weightBytes;
    private Workspace workspace;
    private ActivationObserver observer;
    private LogitBuffers logitBuffers;
    private KvCacheFormat kvCacheFormat = KvCacheFormat.AUTO;
    private final Map<KvCacheDtype, float[]> kvScales = new EnumMap<>(KvCacheDtype.class);

    private LlamaModel(LlamaConfig config, Backend backend, Arena arena, Weight embedding, Weight lmHead,
                       Weight finalNorm, Layer[] layers, long weightBytes) {
        this.config = config;
        this.backend = backend;
        this.arena = arena;
        this.embedding = embedding;
        this.lmHead = lmHead;
        this.finalNorm = finalNorm;
        this.layers = layers;
        this.weightBytes = weightBytes;
        this.rope = new RopeTable(config.headDim(), config.maxPositionEmbeddings(), config.ropeTheta());
    }

    /** Hands every weight of {@code layout} to {@code backend}, converted to {@code precision} where asked. */
    public static LlamaModel load(LlamaConfig config, WeightLayout layout, Backend backend, StoragePrecision precision) {
        Arena arena = Arena.ofShared();
        try {
            long[] bytes = {0};
            java.util.function.Function<WeightData, Weight> up = d -> {
                WeightData converted = precision.apply(d, arena);
                bytes[0] += converted.byteSize();
                return backend.weight(converted);
            };
            Weight embedding = up.apply(layout.embedding());
            WeightData head = layout.lmHead();
            Weight lmHead = head == null ? embedding : up.apply(head);
            Layer[] layers = new Layer[config.numLayers()];
            for (int l = 0; l < layers.length; l++) {
                layers[l] = new Layer(up.apply(layout.inputNorm(l)), fused(backend, layout.qkv(l), up),
                        up.apply(layout.attentionOut(l)), up.apply(layout.postAttentionNorm(l)),
                        fused(backend, layout.gateUp(l), up), up.apply(layout.down(l)));
            }
            Weight norm = up.apply(layout.finalNorm());
            return new LlamaModel(config, backend, arena, embedding, lmHead, norm, layers, bytes[0]);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Weight fused(Backend backend, List<WeightData> parts,
                                java.util.function.Function<WeightData, Weight> up) {
        if (parts.size() == 1) {
            return up.apply(parts.getFirst());
        }
        return backend.concatRows(parts.stream().map(up).toArray(Weight[]::new));
    }

    public LlamaConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** Bytes of weights as the engine holds them (tied embeddings counted once). */
    public long weightBytes() {
        return weightBytes;
    }

    /**
     * The KV-cache format of the caches this model makes ({@link #kvCache}); int8/fp8 scales given here are also
     * remembered for {@link #kvCacheFormat(KvCacheDtype)}.
     */
    public void useKvCacheFormat(KvCacheFormat format) {
        format.requireLayers(config.numLayers());
        if (format.quantized()) {
            kvScales.put(format.dtype(), format.layerScales());
        }
        this.kvCacheFormat = format;
    }

    public KvCacheFormat kvCacheFormat() {
        return kvCacheFormat;
    }

    /**
     * The format for a KV-cache dtype asked for at run time: AUTO is this model's own ({@link #useKvCacheFormat}),
     * int8/fp8 need scales the model was given.
     */
    public KvCacheFormat kvCacheFormat(KvCacheDtype dtype) {
        if (dtype == KvCacheDtype.AUTO || dtype == kvCacheFormat.dtype()) {
            return kvCacheFormat;
        }
        if (!dtype.quantized()) {
            return KvCacheFormat.of(dtype);
        }
        float[] scales = kvScales.get(dtype);
        if (scales == null) {
            throw new TinyrtException("no " + dtype.label() + " KV-cache scales for this model: open it with that "
                    + "KV-cache dtype (LoadedModel.Options, --kv-cache-dtype) so they are read from the checkpoint "
                    + "or calibrated");
        }
        return KvCacheFormat.quantized(dtype, scales);
    }

    /** A KV cache in this model's format. */
    public KvCache kvCache(int numBlocks, int blockSize) {
        return backend.kvCache(config, numBlocks, blockSize, kvCacheFormat);
    }

    public KvCache kvCache(int numBlocks, int blockSize, KvCacheFormat format) {
        return backend.kvCache(config, numBlocks, blockSize, format);
    }

    /** {@link KvCache#bytesPerToken} of this model's caches, asked of the backend without allocating one. */
    public long kvBytesPerToken() {
        return backend.kvBytesPerToken(config, kvCacheFormat);
    }

    /** Installs (or with {@code null} removes) an observer of every linear layer's input. */
    public void observe(ActivationObserver observer) {
        this.observer = observer;
    }

    private void notify(int layer, ActivationObserver.Linear linear, Tensor input) {
        if (observer != null) {
            observer.onLinearInput(layer, linear, backend.toHost(input));
        }
    }

    /** Runs one step and returns the logits of {@code batch.logitRows()}, {@code [rows][vocab]}. */
    public float[][] forward(StepBatch batch, KvCache cache) {
        Tensor logits = step(batch, cache);
        return logits == null ? new float[0][] : backend.toHost(logits);
    }

    /**
     * Runs one step and returns the greedy next token of each of {@code batch.logitRows()}: the argmax is taken
     * where the logits are, so on a GPU only token ids reach the host.
     */
    public int[] forwardGreedy(StepBatch batch, KvCache cache) {
        Tensor logits = step(batch, cache);
        return logits == null ? new int[0] : backend.argmaxRows(logits);
    }

    /**
     * {@link #forwardGreedy} without waiting for the ids, so a decode loop can queue step t + 1 before it reads step
     * t's token (TensorRT-LLM's overlap scheduler does the same): with {@code tokensFromPrevious} the batch's token
     * ids are placeholders and the step takes the previous submitted step's greedy ids on the device
     * ({@link Backend#feedsTokensOnDevice}). The tokens are the same as with {@link #forwardGreedy}.
     */
    public Backend.PendingIds submitGreedy(StepBatch batch, KvCache cache, boolean tokensFromPrevious) {
        if (tokensFromPrevious) {
            if (!backend.feedsTokensOnDevice()) {
                throw new UnsupportedOperationException("the " + backend.name()
                        + " backend cannot take a step's tokens from the previous step on its device");
            }
            if (observer != null) {
                throw new IllegalStateException("an activation observer needs each step's tokens on the host");
            }
            backend.feedTokensFromLastArgmax(batch.numTokens());
        }
        Tensor logits = step(batch, cache);
        return logits == null ? () -> new int[0] : backend.argmaxRowsAsync(logits);
    }

    /**
     * Runs one step and picks the next token of each of {@code batch.logitRows()} with {@code rows[i]}'s sampling
     * parameters where the logits are ({@link Backend#sampleRows}): only ids and log-probabilities reach the host.
     */
    public SampledTokens forwardSampled(StepBatch batch, KvCache cache, SamplingRow[] rows) {
        Tensor logits = step(batch, cache);
        return logits == null ? new SampledTokens(new int[0], new int[0][], new float[0][])
                : backend.sampleRows(logits, rows);
    }

    /** The step's device work; returns the logits tensor, or null when no rows are wanted. */
    private Tensor step(StepBatch batch, KvCache cache) {
        int n = batch.numTokens();
        int[] rows = batch.logitRows();
        // every buffer is allocated before the work starts, so a backend may record the work as it runs
        Workspace ws = workspace(n);
        LogitBuffers lb = rows.length == 0 ? null : logitBuffers(rows.length);
        Runnable work = () -> layers(batch, cache, ws, lb);
        if (observer != null) {
            work.run();  // the observer reads activations back in the middle of the step: nothing to record
        } else {
            backend.runStep(batch, cache, new StepBuffers(ws, lb), work);
        }
        return lb == null ? null : lb.logits.rows(rows.length);
    }

    private void layers(StepBatch batch, KvCache cache, Workspace ws, LogitBuffers lb) {
        int n = batch.numTokens();
        Tensor x = ws.hidden.rows(n);
        Tensor normed = ws.normed.rows(n);
        Tensor qkv = ws.qkv.rows(n);
        Tensor attn = ws.attn.rows(n);
        Tensor proj = ws.proj.rows(n);
        Tensor gateUp = ws.gateUp.rows(n);
        Tensor act = ws.act.rows(n);
        float eps = config.rmsNormEps();

        backend.embed(embedding, batch.tokens(), x);
        backend.rmsNorm(x, layers[0].inputNorm, eps, normed);
        for (int l = 0; l < layers.length; l++) {
            Layer layer = layers[l];
            notify(l, ActivationObserver.Linear.QKV, normed);
            backend.matmul(normed, layer.qkv, qkv);
            backend.ropeAndStoreKv(qkv, cache, l, batch, rope);
            backend.attention(qkv, cache, l, batch, attn);
            notify(l, ActivationObserver.Linear.DENSE, attn);
            backend.matmul(attn, layer.attentionOut, proj);
            backend.addRmsNorm(x, proj, layer.postNorm, eps, normed);
            notify(l, ActivationObserver.Linear.GATE_UP, normed);
            backend.matmulSwiglu(normed, layer.gateUp, gateUp, act);
            notify(l, ActivationObserver.Linear.DOWN, act);
            backend.matmul(act, layer.down, proj);
            Weight nextNorm = l + 1 < layers.length ? layers[l + 1].inputNorm : finalNorm;
            backend.addRmsNorm(x, proj, nextNorm, eps, normed);
        }
        if (lb == null) {
            return;
        }
        int[] rows = batch.logitRows();
        Tensor selected = lb.selected.rows(rows.length);
        backend.gatherRows(normed, rows, selected);
        notify(-1, ActivationObserver.Linear.LM_HEAD, selected);
        backend.matmul(selected, lmHead, lb.logits.rows(rows.length));
    }

    /** The tensors one step uses: a backend recording steps keys its recordings by them. */
    private record StepBuffers(Workspace workspace, LogitBuffers logits) {
    }

    /** Next-token logits at every position of {@code ids} (a fresh KV cache, one prefill step). */
    public float[][] promptLogits(int[] ids) {
        int[] all = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            all[i] = i;
        }
        return prefill(ids, all);
    }

    /** Next-token logits after the last token of {@code ids}: the work of a request's time to first token. */
    public float[] lastLogits(int[] ids) {
        return prefill(ids, new int[]{ids.length - 1})[0];
    }

    private float[][] prefill(int[] ids, int[] logitRows) {
        int blocks = (ids.length + KvCache.DEFAULT_BLOCK_SIZE - 1) / KvCache.DEFAULT_BLOCK_SIZE;
        int[] table = new int[blocks];
        int[] positions = new int[ids.length];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        for (int i = 0; i < ids.length; i++) {
            positions[i] = i;
        }
        try (KvCache cache = kvCache(blocks, KvCache.DEFAULT_BLOCK_SIZE)) {
            return forward(new StepBatch(ids, positions,
                    List.of(new StepBatch.Chunk(0, ids.length, ids.length, table)), logitRows), cache);
        }
    }

    /** Activation buffers sized for the largest step seen so far. */
    private final class Workspace {
        final int capacity;
        final Tensor hidden;
        final Tensor normed;
        final Tensor qkv;
        final Tensor attn;
        final Tensor proj;
        final Tensor gateUp;
        final Tensor act;

        Workspace(int capacity) {
            this.capacity = capacity;
            int h = config.hiddenSize();
            hidden = backend.wideTensor(capacity, h);
            normed = backend.tensor(capacity, h);
            qkv = backend.tensor(capacity, config.qDim() + 2 * config.kvDim());
            attn = backend.tensor(capacity, config.qDim());
            proj = backend.tensor(capacity, h);
            gateUp = backend.tensor(capacity, 2 * config.intermediateSize());
            act = backend.tensor(capacity, config.intermediateSize());
        }
    }

    /** Kept apart from {@link Workspace}: a long prefill usually wants the logits of one row only. */
    private final class LogitBuffers {
        final int capacity;
        final Tensor selected;
        final Tensor logits;

        LogitBuffers(int capacity) {
            this.capacity = capacity;
            selected = backend.tensor(capacity, config.hiddenSize());
            logits = backend.wideTensor(capacity, config.vocabSize());
        }
    }

    private LogitBuffers logitBuffers(int rows) {
        if (logitBuffers == null || logitBuffers.capacity < rows) {
            logitBuffers = new LogitBuffers(rows);
        }
        return logitBuffers;
    }

    private Workspace workspace(int tokens) {
        if (workspace == null || workspace.capacity < tokens) {
            workspace = new Workspace(tokens);
        }
        return workspace;
    }

    /** Releases weight copies made for a storage precision; the backend is closed by its owner. */
    @Override
    public void close() {
        arena.close();
    }
}
