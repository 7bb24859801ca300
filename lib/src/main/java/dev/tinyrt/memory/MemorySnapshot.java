package dev.tinyrt.memory;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The process's memory at one moment, after a full garbage collection: Java heap in use, resident set (anonymous
 * and file-backed) from /proc/self/status, resident bytes of memory-mapped model files from /proc/self/smaps,
 * NMT's committed bytes per category when tracking is on, and the device's used bytes when there is a device.
 * Differences of two snapshots attribute memory to what happened between them.
 *
 * @param rss      VmRSS, or -1 off Linux
 * @param rssAnon  RssAnon (heap pages, malloc'ed and FFM-allocated memory), or -1
 * @param mappedRss resident bytes of mappings of files under the watched directories
 * @param mappedSize mapped bytes of those mappings, resident or not
 * @param nmt      committed bytes per NMT category, empty when tracking is off
 * @param device   the device's free/total bytes, or {@code null} on the CPU
 */
public record MemorySnapshot(long heapUsed, long heapCommitted, long rss, long rssAnon, long rssFile, long mappedRss,
                             long mappedSize, Map<String, Long> nmt, DeviceMemory.Info device) {

    public MemorySnapshot {
        nmt = Map.copyOf(nmt);
    }

    /** Collects garbage, then reads everything; {@code mapped} are the directories whose mappings count. */
    public static MemorySnapshot capture(List<Path> mapped, DeviceMemory deviceMemory) {
        settleHeap();
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        List<String> status = ProcFiles.read(ProcFiles.STATUS);
        List<String> prefixes = mapped.stream().map(p -> p.toAbsolutePath().normalize() + "/").toList();
        List<String> smaps = prefixes.isEmpty() ? List.of() : ProcFiles.read(ProcFiles.SMAPS);
        java.util.function.Predicate<String> watched = f -> prefixes.stream().anyMatch(f::startsWith);
        Map<String, Long> nmt = NativeMemoryTracking.summary();
        // G1 keeps committed free regions outside every memory pool: NMT's figure is the whole committed heap
        long committed = nmt.getOrDefault("Java Heap", heap.getCommitted());
        return new MemorySnapshot(heap.getUsed(), committed, ProcFiles.statusField(status, "VmRSS"),
                ProcFiles.statusField(status, "RssAnon"), ProcFiles.statusField(status, "RssFile"),
                ProcFiles.mappedRss(smaps, watched), ProcFiles.mappedSize(smaps, watched), nmt, deviceMemory == null ? null : deviceMemory.info());
    }

    /**
     * Two full collections: the second frees what the first's finalization and reference processing released.
     * Native memory of unreachable auto arenas (weight copies made at load) is freed by the JDK's Cleaner thread
     * after a collection, so each is followed by a short pause for it.
     */
    static void settleHeap() {
        for (int i = 0; i < 2; i++) {
            System.gc();
            try {
                Thread.sleep(CLEANER_PAUSE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static final long CLEANER_PAUSE_MS = 20;

    /** This snapshot with the device's reading replaced (e.g. by the device's state before the model). */
    public MemorySnapshot withDevice(DeviceMemory.Info info) {
        return new MemorySnapshot(heapUsed, heapCommitted, rss, rssAnon, rssFile, mappedRss, mappedSize, nmt, info);
    }

    public long nmt(String category) {
        return nmt.getOrDefault(category, 0L);
    }

    /** NMT's committed bytes outside the Java heap (0 when tracking is off). */
    public long nmtNonHeap() {
        return nmt.isEmpty() ? 0 : nmt(NativeMemoryTracking.TOTAL_KEY) - nmt("Java Heap");
    }
}
