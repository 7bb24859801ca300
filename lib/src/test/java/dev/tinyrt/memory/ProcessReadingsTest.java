package dev.tinyrt.memory;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Readers of /proc and of NMT reports, on text as Linux and HotSpot write it. */
class ProcessReadingsTest {
    @Test
    void statusFieldsInBytes() {
        List<String> status = List.of("Name:\tjava", "VmRSS:\t  123456 kB", "RssAnon:\t   100000 kB",
                "RssFile:\t    23456 kB");
        assertEquals(123456L * 1024, ProcFiles.statusField(status, "VmRSS"));
        assertEquals(23456L * 1024, ProcFiles.statusField(status, "RssFile"));
        assertEquals(-1, ProcFiles.statusField(status, "VmSwap"));
    }

    @Test
    void residentBytesOfMappedModelFilesOnly() {
        List<String> smaps = List.of(
                "7f0000000000-7f0001000000 r--s 00000000 08:01 1234   /models/m/model.safetensors",
                "Size:              16384 kB",
                "Rss:               12000 kB",
                "Pss:               12000 kB",
                "7f0001000000-7f0001100000 rw-p 00000000 00:00 0 ",
                "Rss:                1024 kB",
                "7f0002000000-7f0002010000 r--p 00000000 08:01 99 /usr/lib/libc.so.6",
                "Rss:                  64 kB",
                "7f0003000000-7f0003010000 r--s 00001000 08:01 1234   /models/m/model.safetensors",
                "Rss:                   8 kB");
        assertEquals((12000 + 8) * 1024L, ProcFiles.mappedRss(smaps, f -> f.startsWith("/models/m/")));
        assertEquals(0, ProcFiles.mappedRss(smaps, f -> f.startsWith("/elsewhere/")));
    }

    @Test
    void nmtSummaryCommittedPerCategory() {
        String report = """

                Native Memory Tracking:

                (Omitting categories weighting less than 1KB)

                Total: reserved=7737362KB, committed=474878KB
                       malloc: 15518KB #13106, peak=15984KB #13075
                       mmap:   reserved=7721844KB, committed=459360KB

                -                 Java Heap (reserved=6172672KB, committed=393216KB)
                                            (mmap: reserved=6172672KB, committed=393216KB, at peak)

                -                     Class (reserved=1048688KB, committed=496KB)
                                            (classes #1756)

                -                     Other (reserved=34KB, committed=34KB)
                                            (malloc=34KB tag=Other #2) (at peak)

                -    Native Memory Tracking (reserved=238KB, committed=238KB)
                """;
        Map<String, Long> nmt = NativeMemoryTracking.parse(report);
        assertEquals(474878L * 1024, nmt.get(NativeMemoryTracking.TOTAL_KEY));
        assertEquals(393216L * 1024, nmt.get("Java Heap"));
        assertEquals(34L * 1024, nmt.get("Other"));
        assertEquals(238L * 1024, nmt.get("Native Memory Tracking"));
        assertEquals(5, nmt.size());
        assertTrue(NativeMemoryTracking.parse("Native memory tracking is not enabled\n").isEmpty());
    }

    /** A 64 MiB heap array shows up in the heap measurement (and, under G1, with its region rounding). */
    @Test
    void heapSnapshotsSeeAnAllocation() {
        MemoryProbe probe = new MemoryProbe(List.of(), null);
        MemorySnapshot before = probe.snapshot();
        float[] big = new float[16 << 20];
        MemorySnapshot after = probe.snapshot();
        long expected = HeapFootprint.of(new long[]{4L * big.length}, HeapFootprint.regionBytes());
        Measured m = Measured.between(before, after);
        assertTrue(Math.abs(m.heap() - expected) < 0.02 * expected, m + " vs " + expected);
        assertEquals(1f, big.length > 0 ? 1f : 0f);  // keeps the array reachable until here
        assertTrue(after.rss() > 0 && after.rssAnon() > 0, "Linux /proc/self/status is readable");
    }
}
