package dev.tinyrt.memory;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * What arrays really occupy in a G1 heap. G1 stores an object of half a region or more as "humongous": in whole
 * regions of its own, so a 2 MiB + 16-byte array in 2 MiB regions takes 4 MiB. The heap's used bytes count those
 * whole regions, which is why a measured heap can exceed the bytes the formulas give.
 */
final class HeapFootprint {
    static final long ARRAY_HEADER = 16;

    private HeapFootprint() {
    }

    /** G1's region size in bytes, or 0 when the JVM does not use G1 or does not say. */
    static long regionBytes() {
        boolean g1 = ManagementFactory.getGarbageCollectorMXBeans().stream()
                .map(GarbageCollectorMXBean::getName).anyMatch(n -> n.startsWith("G1"));
        if (!g1) {
            return 0;
        }
        try {
            return Long.parseLong(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("G1HeapRegionSize").getValue());
        } catch (RuntimeException | LinkageError e) {
            return 0;  // a runtime without jdk.management
        }
    }

    /** Heap bytes the arrays of the given payload sizes occupy with {@code region}-byte G1 regions. */
    static long of(long[] payloads, long region) {
        long sum = 0;
        for (long p : payloads) {
            long size = p + ARRAY_HEADER;
            sum += region > 0 && size >= region / 2 ? (size + region - 1) / region * region : size;
        }
        return sum;
    }
}
