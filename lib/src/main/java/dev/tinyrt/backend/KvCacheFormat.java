package dev.tinyrt.backend;

import java.util.Arrays;

/**
 * The element type of a KV cache and, for int8/fp8, one scale per layer shared by keys and values, as
 * TensorRT-LLM's {@code kv_cache_scaling_factor}: a value x is stored as {@code q = x * (1 / scale)} (int8 rounded
 * to nearest even and clamped to ±127; fp8 rounded to e4m3, saturated to ±448) and read back as
 * {@code q * scale} inside attention.
 *
 * @param layerScales per layer for INT8 and FP8, {@code null} otherwise
 */
public record KvCacheFormat(KvCacheDtype dtype, float[] layerScales) {
    /** The backend's own unquantized type. */
    public static final KvCacheFormat AUTO = new KvCacheFormat(KvCacheDtype.AUTO, null);

    public KvCacheFormat {
        if (dtype.quantized()) {
            if (layerScales == null) {
                throw new IllegalArgumentException(dtype.label() + " KV cache needs one scale per layer");
            }
            for (float s : layerScales) {
                if (!(s > 0) || Float.isInfinite(s)) {
                    throw new IllegalArgumentException("KV-cache scale " + s + " is not a positive finite number");
                }
            }
            layerScales = layerScales.clone();
        } else if (layerScales != null) {
            throw new IllegalArgumentException(dtype.label() + " KV cache takes no scales");
        }
    }

    /** An unquantized format ({@link KvCacheDtype#AUTO}, FP32 or FP16). */
    public static KvCacheFormat of(KvCacheDtype dtype) {
        return new KvCacheFormat(dtype, null);
    }

    public static KvCacheFormat quantized(KvCacheDtype dtype, float[] layerScales) {
        return new KvCacheFormat(dtype, layerScales);
    }

    public boolean quantized() {
        return dtype.quantized();
    }

    @Override
    public float[] layerScales() {
        return layerScales == null ? null : layerScales.clone();
    }

    /** The scale of {@code layer} (1 where the format is not quantized). */
    public float scale(int layer) {
        return layerScales == null ? 1f : layerScales[layer];
    }

    /** Checks that the scales cover {@code layers} layers. */
    public void requireLayers(int layers) {
        if (layerScales != null && layerScales.length != layers) {
            throw new IllegalArgumentException(dtype.label() + " KV cache has " + layerScales.length
                    + " layer scales for a model of " + layers + " layers");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KvCacheFormat f && f.dtype == dtype && Arrays.equals(f.layerScales, layerScales);
    }

    @Override
    public int hashCode() {
        return 31 * dtype.hashCode() + Arrays.hashCode(layerScales);
    }

    @Override
    public String toString() {
        return layerScales == null ? dtype.label() : dtype.label() + " " + Arrays.toString(layerScales);
    }
}
