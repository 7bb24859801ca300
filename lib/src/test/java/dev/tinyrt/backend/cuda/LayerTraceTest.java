package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LayerTraceTest {
    private static final int E = LayerTrace.EVENTS.length;

    /** Block b of a launch starting at t0 reaches point v at t0 + 1000 * (v + 1) + skew * b ns (start: t0 + skew * b). */
    private static void fill(long[] raw, int maxGrid, int slot, int grid, long t0, long skew) {
        for (int b = 0; b < grid; b++) {
            for (int v = 0; v < E; v++) {
                raw[(slot * maxGrid + b) * E + v] = t0 + (v == 0 ? 0 : 1000L * v) + skew * b;
            }
        }
    }

    @Test
    void mediansOfFirstAndLastBlockPerPoint() {
        int maxGrid = 4, grid = 3;
        long[] raw = new long[(int) (LayerTrace.bufferBytes(maxGrid) / 8)];
        fill(raw, maxGrid, 0, grid, 5_000_000L, 100);
        fill(raw, maxGrid, 7, grid, 9_000_000L, 300);
        fill(raw, maxGrid, 9, grid, 1_000_000L, 200);
        raw[(20 * maxGrid) * E + 3] = 42;  // a region some blocks never wrote: left out
        LayerTrace.Summary s = LayerTrace.summarize(raw, maxGrid, grid);
        assertEquals(3, s.launches());
        double[] first = new double[E], last = new double[E];
        for (int v = 0; v < E; v++) {
            first[v] = v;          // us: block 0 at 1000 v ns after the start
            last[v] = v + 0.4;     // the last block is 2 * skew behind; the median skew is 200 ns
        }
        assertArrayEquals(first, s.firstUs(), 1e-9);
        assertArrayEquals(last, s.lastUs(), 1e-9);
        assertEquals(11.4, s.toJson().path("points_us").path("exit").path("last").asDouble(), 1e-9);
    }

    @Test
    void emptyTraceHasNoLaunchesAndBadShapesAreRefused() {
        long[] raw = new long[(int) (LayerTrace.bufferBytes(2) / 8)];
        assertEquals(0, LayerTrace.summarize(raw, 2, 2).launches());
        assertThrows(IllegalArgumentException.class, () -> LayerTrace.summarize(raw, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> LayerTrace.summarize(new long[10], 2, 1));
    }
}
