package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Element types a KV cache can store, as the memory analysis reports them. The CPU engine stores fp32 by default
 * (fp16, int8, fp8 on request), the CUDA engine fp16 (int8, fp8 on request); int8/fp8 KV (TensorRT-LLM's
 * {@code kv_cache_quant_algo}, with one {@code kv_cache_scaling_factor} per layer) halve fp16 again. See
 * {@link dev.tinyrt.backend.KvCacheDtype} for the engine's own option.
 */
public enum KvDtype {
    FP32(4), FP16(2), BF16(2), INT8(1), FP8(1);

    private final int bytes;

    KvDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static KvDtype parse(String text) {
        for (KvDtype d : values()) {
            if (d.label().equalsIgnoreCase(text.trim())) {
                return d;
            }
        }
        throw new TinyrtException("unknown KV-cache dtype \"" + text + "\"; choose "
                + Arrays.stream(values()).map(KvDtype::label).collect(Collectors.joining(", ")));
    }

    /** The dtype whose element size is {@code bytes} (fp16 for 2: the two 2-byte types cost the same). */
    public static KvDtype ofElementSize(long bytes) {
        return switch ((int) bytes) {
            case 4 -> FP32;
            case 2 -> FP16;
            case 1 -> INT8;
            default -> throw new IllegalArgumentException("no KV dtype of " + bytes + " bytes");
        };
    }
}
