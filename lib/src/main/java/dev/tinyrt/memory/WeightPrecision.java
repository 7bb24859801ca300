package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.quant.QuantAlgo;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The weight precisions a memory breakdown covers. Float ones are storage precisions the engine converts to at
 * load time; quantized ones are TensorRT-LLM checkpoints written by {@link dev.tinyrt.checkpoint.TrtllmConverter}
 * (the same algorithms as configs/*.yaml).
 *
 * @param groupSize INT4 group size (0: not grouped)
 */
public enum WeightPrecision {
    AUTO(StoragePrecision.AUTO, QuantAlgo.NONE, 0),
    FP32(StoragePrecision.FP32, QuantAlgo.NONE, 0),
    FP16(StoragePrecision.FP16, QuantAlgo.NONE, 0),
    BF16(StoragePrecision.BF16, QuantAlgo.NONE, 0),
    /** W8A16: int8 weights, one scale per output channel (configs/tinyllama_int8.yaml). */
    INT8(null, QuantAlgo.W8A16, 0),
    /** W4A16 round to nearest in groups of 128 (configs/tinyllama_int4.yaml). */
    INT4(null, QuantAlgo.W4A16, 128),
    INT4_AWQ(null, QuantAlgo.W4A16_AWQ, 128),
    W8A8_SQ(null, QuantAlgo.W8A8_SQ_PER_CHANNEL, 0),
    FP8(null, QuantAlgo.FP8, 0);

    private final StoragePrecision storage;
    private final QuantAlgo algo;
    private final int groupSize;

    WeightPrecision(StoragePrecision storage, QuantAlgo algo, int groupSize) {
        this.storage = storage;
        this.algo = algo;
        this.groupSize = groupSize;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The storage precision for a float precision, {@code null} for a quantized one. */
    public StoragePrecision storage() {
        return storage;
    }

    public QuantAlgo algo() {
        return algo;
    }

    public int groupSize() {
        return groupSize;
    }

    public boolean quantized() {
        return storage == null;
    }

    public static WeightPrecision parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (WeightPrecision p : values()) {
            if (p.label().equals(t)) {
                return p;
            }
        }
        throw new TinyrtException("unknown precision \"" + text + "\"; choose "
                + Arrays.stream(values()).map(WeightPrecision::label).collect(Collectors.joining(", ")));
    }
}
