package dev.tinyrt.memory;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Why a weights line differs from its formula, told from the measurement's parts. */
class WeightExplanationTest {
    private static Measured cpu(long heap, long nativeBytes, long mapped) {
        return new Measured(heap + nativeBytes + mapped, heap, nativeBytes, mapped, 2 * mapped, 0, Measured.CPU_HOW);
    }

    @Test
    void reLaidOutCopiesOnTopOfTheirStillResidentSourcePagesAreNamed() {
        // 16 MiB used in place + 4 MiB copied into the kernels' layout; the copy's 4 MiB of source pages resident
        long computed = 20L << 20;
        String why = WeightMeasurement.explain(computed, cpu(200_000, 4L << 20, 20L << 20));
        assertTrue(why.contains("pages the copies were read from"), why);
        assertTrue(why.contains(String.format(java.util.Locale.ROOT, "%,d bytes are checkpoint pages", (4L << 20) + 200_000)), why);
    }

    @Test
    void moreExcessThanTheCopiesCouldLeaveIsNotExplainedAway() {
        long computed = 20L << 20;
        String why = WeightMeasurement.explain(computed, cpu(200_000, 1L << 20, 26L << 20));
        assertTrue(why.startsWith("measured heap"), why);
    }

    @Test
    void withinFivePercentNeedsNoReason() {
        assertNull(WeightMeasurement.explain(20L << 20, cpu(0, 4L << 20, 16L << 20)));
    }
}
