package dev.tinyrt.quant;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * KV-cache quantization, as TensorRT-LLM's {@code kv_cache_quant_algo} (INT8 or FP8) with one calibrated
 * {@code kv_cache_scaling_factor} per layer shared by keys and values.
 */
public enum KvCacheQuant {
    NONE(null), INT8("INT8"), FP8("FP8");

    private final String trtllmName;

    KvCacheQuant(String trtllmName) {
        this.trtllmName = trtllmName;
    }

    /** The {@code kv_cache_quant_algo} string, or {@code null} for none. */
    public String trtllmName() {
        return trtllmName;
    }

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The scale for a layer whose keys and values reach {@code amax}. INT8: amax/127 (ModelOpt's 8-bit maxbound,
     * modelopt/torch/export/quant_utils.py get_scaling_factor). FP8: amax/448 but never below 1, ModelOpt's
     * recommendation for FP8 KV caches (same file, get_kv_cache_scaling_factor).
     */
    public float scale(float amax) {
        return switch (this) {
            case NONE -> throw new IllegalStateException("no KV-cache quantization");
            case INT8 -> amax > 0 ? amax / 127f : 1f;
            case FP8 -> Math.max(amax / 448f, 1f);
        };
    }

    public static KvCacheQuant fromConfigName(String text) {
        for (KvCacheQuant k : values()) {
            if (k.configName().equalsIgnoreCase(text)) {
                return k;
            }
        }
        return null;
    }

    public static KvCacheQuant fromTrtllmName(String text) {
        if (text == null) {
            return NONE;
        }
        for (KvCacheQuant k : values()) {
            if (text.equals(k.trtllmName)) {
                return k;
            }
        }
        return null;
    }

    public static String allowedConfigNames() {
        return Arrays.stream(values()).map(KvCacheQuant::configName).collect(Collectors.joining(", "));
    }
}
