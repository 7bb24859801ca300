package dev.tinyrt.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A {@code CUlaunchConfig} for cuLaunchKernelEx with one attribute, programmatic stream serialization (the kernel
 * may start while the previous one in the stream finishes; it waits for it with griddepcontrol.wait). Layouts as in
 * cuda.h 12/13: the config is 7 uints, the stream at 32, the attribute array at 40, their count at 48 (56 bytes);
 * an attribute is its id, 4 bytes of padding and a 64-byte value union (72 bytes). Reused for every launch.
 */
final class LaunchConfig {
    static final int ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
    private static final long CONFIG_BYTES = 56;
    private static final long ATTRIBUTE_BYTES = 72;

    private final MemorySegment config;
    private final MemorySegment attribute;

    LaunchConfig(Arena arena, MemorySegment stream) {
        config = arena.allocate(CONFIG_BYTES, 8);
        attribute = arena.allocate(ATTRIBUTE_BYTES, 8);
        attribute.set(JAVA_INT, 0, ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        attribute.set(JAVA_INT, 8, 1);  // value.programmaticStreamSerializationAllowed
        config.set(ADDRESS, 32, stream);
        config.set(ADDRESS, 40, attribute);
        config.set(JAVA_INT, 48, 1);
    }

    LaunchConfig set(int gridX, int gridY, int gridZ, int block, int sharedBytes) {
        config.set(JAVA_INT, 0, gridX);
        config.set(JAVA_INT, 4, gridY);
        config.set(JAVA_INT, 8, gridZ);
        config.set(JAVA_INT, 12, block);
        config.set(JAVA_INT, 16, 1);
        config.set(JAVA_INT, 20, 1);
        config.set(JAVA_INT, 24, sharedBytes);
        return this;
    }

    MemorySegment segment() {
        return config;
    }

    @Override
    public String toString() {
        return "grid " + config.get(JAVA_INT, 0) + "x" + config.get(JAVA_INT, 4) + "x" + config.get(JAVA_INT, 8)
                + ", block " + config.get(JAVA_INT, 12) + ", shared " + config.get(JAVA_INT, 24) + ", PDL";
    }
}
