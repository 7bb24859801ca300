package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file, memory-mapped read-only through a shared {@link Arena} (never copied onto the heap) and
 * fully validated on open. Reads are thread-safe. The file must not be truncated by another process while open
 * (no mmap reader can survive that).
 */
public final class SafetensorsFile implements TensorSource {
    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final List<String> names;
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private SafetensorsFile(Path path, Arena arena, MemorySegment mapping, SafetensorsHeader.Parsed header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.dataStart = header.dataStart();
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) {
            byName.put(t.name(), t);
        }
        this.tensors = byName;
        this.names = List.copyOf(byName.keySet());
        this.metadata = header.metadata();
    }

    /**
     * Maps and validates {@code file}.
     *
     * @throws SafetensorsFormatException if the file is malformed (message names the file and tensor)
     * @throws TinyrtException            if it cannot be read (missing, permissions, I/O error)
     */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment mapping;
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                // The mapping outlives the channel; it ends when the arena closes.
                mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            }
            return new SafetensorsFile(file, arena, mapping, SafetensorsHeader.parse(file, mapping));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new TinyrtException("no such safetensors file: " + file);
        } catch (IOException e) {
            arena.close();
            throw new TinyrtException("cannot read " + file + ": " + e, e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new TinyrtException(path + ": no tensor " + SafetensorsFormatException.quote(String.valueOf(name))
                    + " (the file has " + tensors.size() + " tensors)");
        }
        return info;
    }

    /** {@inheritDoc} After close this throws IllegalStateException, as do segments obtained before close. */
    @Override
    public MemorySegment data(String name) {
        TensorInfo info = info(name);
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
        return mapping.asSlice(dataStart + info.byteOffset(), info.byteLength()).asReadOnly();
    }

    /** Byte offset of the data section in the file (8 + header length); tensor offsets are relative to it. */
    public long dataStart() {
        return dataStart;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + names.size() + " tensors]";
    }
}
