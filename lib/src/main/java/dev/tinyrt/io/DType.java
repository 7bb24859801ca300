package dev.tinyrt.io;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Element types tinyrt reads and writes, named as in the safetensors header. All are little-endian on disk. */
public enum DType {
    F32(4), F16(2), BF16(2), I8(1), U8(1), I32(4), I64(8),
    /** 8-bit float e4m3fn (bias 7, no infinities, NaN = 0x7F/0xFF, max 448); see {@link Numerics#e4m3ToFloat}. */
    F8_E4M3(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The dtype string used in safetensors headers, e.g. "BF16". */
    public String safetensorsName() {
        return name();
    }

    /**
     * The dtype for a safetensors header string (case-sensitive, as the format is).
     *
     * @throws IllegalArgumentException for an unknown or unsupported name (the reader adds file and tensor)
     */
    public static DType fromSafetensorsName(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unsupported dtype " + SafetensorsFormatException.quote(String.valueOf(name))
                + " (supported: " + Arrays.stream(values()).map(DType::name).collect(Collectors.joining(", ")) + ")");
    }
}
