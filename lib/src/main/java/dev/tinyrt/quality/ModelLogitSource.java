package dev.tinyrt.quality;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;

import java.nio.file.Path;
import java.util.List;

/**
 * A {@link LoadedModel} as a {@link LogitSource}. Whatever {@link LoadedModel#open} can load (HF checkpoints today,
 * quantized checkpoints once the engine reads them) can be evaluated.
 */
public final class ModelLogitSource implements LogitSource {
    private final LoadedModel model;
    private final boolean owned;
    private final StoragePrecision precision;

    private ModelLogitSource(LoadedModel model, boolean owned, StoragePrecision precision) {
        this.model = model;
        this.owned = owned;
        this.precision = precision;
    }

    /** Opens {@code directory} on the CPU with weights kept in {@code precision}; closing the source closes it. */
    public static ModelLogitSource open(Path directory, StoragePrecision precision, int threads) {
        return open(directory, precision, KvCacheDtype.AUTO, threads);
    }

    /** As {@link #open(Path, StoragePrecision, int)}, with the KV cache stored as {@code kvCache} (int8 / fp8 ...). */
    public static ModelLogitSource open(Path directory, StoragePrecision precision, KvCacheDtype kvCache,
                                        int threads) {
        return open(directory, precision, kvCache, threads, "cpu");
    }

    /** As above on {@code backend} (cpu, cuda or auto): the CUDA engine's logits, fp16 compute, for GPU rows. */
    public static ModelLogitSource open(Path directory, StoragePrecision precision, KvCacheDtype kvCache,
                                        int threads, String backend) {
        return new ModelLogitSource(LoadedModel.open(directory, new LoadedModel.Options(backend, precision, threads,
                kvCache)), true, precision);
    }

    /** Wraps a model the caller keeps owning. */
    public static ModelLogitSource of(LoadedModel model) {
        return new ModelLogitSource(model, false, StoragePrecision.AUTO);
    }

    public LoadedModel model() {
        return model;
    }

    public StoragePrecision precision() {
        return precision;
    }

    @Override
    public float[][] logits(int[] ids) {
        return model.model().promptLogits(ids);
    }

    /** One prefill step that runs the output projection only for the wanted rows (most of a small model's work). */
    @Override
    public float[][] logits(int[] ids, int fromRow, int toRow) {
        LlamaModel m = model.model();
        int blocks = (ids.length + KvCache.DEFAULT_BLOCK_SIZE - 1) / KvCache.DEFAULT_BLOCK_SIZE;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        int[] positions = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            positions[i] = i;
        }
        int[] rows = new int[toRow - fromRow];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = fromRow + i;
        }
        try (KvCache cache = m.kvCache(blocks, KvCache.DEFAULT_BLOCK_SIZE)) {
            return m.forward(new StepBatch(ids, positions,
                    List.of(new StepBatch.Chunk(0, ids.length, ids.length, table)), rows), cache);
        }
    }

    @Override
    public int contextLength() {
        return model.config().maxPositionEmbeddings();
    }

    public int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public void close() {
        if (owned) {
            model.close();
        }
    }

    @Override
    public String toString() {
        return model.directory() + " (" + precision.label() + ")";
    }
}
