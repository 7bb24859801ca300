package dev.tinyrt.backend;

import dev.tinyrt.TinyrtException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a KV cache stores keys and values: {@link #AUTO} is the backend's own activation type (fp32 on the CPU,
 * fp16 on CUDA); INT8 and FP8 (e4m3) are TensorRT-LLM's {@code kv_cache_quant_algo} with one scale per layer.
 */
public enum KvCacheDtype {
    AUTO(0), FP32(4), FP16(2), INT8(1), FP8(1);

    private final int bytes;

    KvCacheDtype(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes of one stored element; 0 for {@link #AUTO} (the backend decides). */
    public int bytes() {
        return bytes;
    }

    /** Whether values are stored as {@code x / scale} and need a per-layer scale. */
    public boolean quantized() {
        return this == INT8 || this == FP8;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KvCacheDtype parse(String text) {
        for (KvCacheDtype d : values()) {
            if (d.label().equalsIgnoreCase(text.trim())) {
                return d;
            }
        }
        throw new TinyrtException("unknown KV-cache dtype \"" + text + "\"; choose "
                + Arrays.stream(values()).map(KvCacheDtype::label).collect(Collectors.joining(", ")));
    }
}
