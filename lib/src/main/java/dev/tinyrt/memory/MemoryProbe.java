package dev.tinyrt.memory;

import java.nio.file.Path;
import java.util.List;

/**
 * Takes {@link MemorySnapshot}s of one process and, where the backend has one, its device: which mapped files
 * count as the model's and which device to ask.
 */
public record MemoryProbe(List<Path> mappedDirs, DeviceMemory device) {
    public MemoryProbe {
        mappedDirs = List.copyOf(mappedDirs);
    }

    public MemorySnapshot snapshot() {
        return MemorySnapshot.capture(mappedDirs, device);
    }

    /** The same probe reading {@code d} as the device (null: host only). */
    public MemoryProbe withDevice(DeviceMemory d) {
        return new MemoryProbe(mappedDirs, d);
    }

    /** The same probe also counting mappings of files under {@code dir}. */
    public MemoryProbe watching(Path dir) {
        List<Path> dirs = new java.util.ArrayList<>(mappedDirs);
        dirs.add(dir);
        return new MemoryProbe(dirs, device);
    }
}
