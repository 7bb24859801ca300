package dev.tinyrt.memory;

import java.lang.management.ManagementFactory;
import java.util.List;

/** Whether the JVM made its whole heap resident at start-up (-Xms = -Xmx with -XX:+AlwaysPreTouch). */
final class HeapResidency {
    private HeapResidency() {
    }

    static boolean pretouched() {
        List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
        if (!args.contains("-XX:+AlwaysPreTouch")) {
            return false;
        }
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return heap.getMax() > 0 && heap.getInit() == heap.getMax();
    }
}
