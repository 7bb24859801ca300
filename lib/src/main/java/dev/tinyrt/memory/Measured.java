package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Memory one component took, as measured between two snapshots, with its parts: on a device, the change in the
 * device's used bytes; on the CPU, Java heap in use after GC + native memory (NMT's "Other": FFM and Unsafe
 * allocations; not seen without NMT) + resident pages of mapped model files.
 *
 * @param mappedSize bytes of model files newly mapped (resident or not); {@code mapped} is what is resident
 * @param how a sentence saying how the bytes were measured
 */
public record Measured(long bytes, long heap, long nativeBytes, long mapped, long mappedSize, long device,
                       String how) {

    public static final String CPU_HOW = "Java heap used after GC + native (NMT Other) + resident mapped model files";
    public static final String CPU_HOW_NO_NMT = "Java heap used after GC + resident mapped model files (native "
            + "allocations not seen: run with -XX:NativeMemoryTracking=summary)";

    /**
     * The difference between two snapshots. {@code mappedSince} is the snapshot mapped pages are counted from
     * (usually {@code before}; earlier or later when pages come in at another time, as the weights' pages do on
     * their first use).
     */
    public static Measured between(MemorySnapshot before, MemorySnapshot after) {
        return between(before, after, before, after);
    }

    public static Measured between(MemorySnapshot before, MemorySnapshot after, MemorySnapshot mappedFrom,
                                   MemorySnapshot mappedTo) {
        if (before.device() != null && after.device() != null) {
            long d = after.device().usedBytes() - before.device().usedBytes();
            return new Measured(d, 0, 0, 0, 0, d, "device used bytes (cuMemGetInfo) after minus before");
        }
        long heap = after.heapUsed() - before.heapUsed();
        long mapped = mappedTo.mappedRss() - mappedFrom.mappedRss();
        boolean nmt = !before.nmt().isEmpty() && !after.nmt().isEmpty();
        long nativeBytes = nmt ? after.nmt("Other") - before.nmt("Other") : 0;
        long mappedSize = mappedTo.mappedSize() - mappedFrom.mappedSize();
        return new Measured(heap + nativeBytes + mapped, heap, nativeBytes, mapped, mappedSize, 0,
                nmt ? CPU_HOW : CPU_HOW_NO_NMT);
    }

    /** This measurement without mapped file pages (e.g. weights first read during a measured step). */
    public Measured withoutMapped(String why) {
        return mapped == 0 ? this : new Measured(bytes - mapped, heap, nativeBytes, 0, 0, device, how + "; " + why);
    }

    public static Measured of(long bytes, String how) {
        return new Measured(bytes, 0, 0, 0, 0, 0, how);
    }

    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("bytes", bytes);
        if (device != 0) {
            n.put("device", device);
        } else if (heap != 0 || nativeBytes != 0 || mapped != 0) {
            n.put("heap", heap);
            n.put("native", nativeBytes);
            n.put("mapped", mapped);
            if (mappedSize != 0) {
                n.put("mapped_size", mappedSize);
            }
        }
        n.put("how", how);
        return n;
    }
}
