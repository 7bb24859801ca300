package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The learned product order and the fused GEMVs' trailing prefetch arguments (no GPU needed). */
class NextWeightPrefetchTest {
    private static final long MIB = 1 << 20;

    // TinyLlama's layer products, fp16; pointers are made up (nothing is dereferenced)
    private final CudaWeight qkv = new CudaWeight("qkv", 0x1000, 2560, 2048);
    private final CudaWeight o = new CudaWeight("o", 0x2000, 2048, 2048);
    private final CudaWeight gateUp = new CudaWeight("gate_up", 0x3000, 11264, 2048);
    private final CudaWeight down = new CudaWeight("down", 0x4000, 2048, 5632);

    /** The 7 trailing arguments as ints/longs (the i32 slots' low halves). */
    private static long[] trailing(NextWeightPrefetch p, CudaWeight w) {
        try (Arena arena = Arena.ofConfined()) {
            long[] s = p.append(new KernelArgs(arena).reset(), w).snapshot();
            assertEquals(7, s.length, "NEXT_WEIGHT_PARAMS has 7 parameters");
            return new long[] {s[0], s[1], s[2], (int) s[3], (int) s[4], (int) s[5], (int) s[6]};
        }
    }

    private void oneStep(NextWeightPrefetch p) {
        p.note(qkv, false);
        p.note(o, false);
        p.note(gateUp, true);
        p.note(down, false);
    }

    @Test
    void learnsEachProductsSuccessorIncludingAcrossSteps() {
        NextWeightPrefetch p = new NextWeightPrefetch(16 * MIB, false);
        oneStep(p);
        assertSame(o, p.after(qkv));
        assertSame(gateUp, p.after(o));
        assertSame(down, p.after(gateUp));
        assertNull(p.after(down), "the first step's last product has no successor yet");
        p.note(qkv, false);
        assertSame(qkv, p.after(down));
        p.note(qkv, false);  // the same weight again (a cuBLAS fallback inside matmulSwiglu) is no edge
        assertSame(qkv, p.after(down));
        assertSame(o, p.after(qkv), "the order learned before stays");
    }

    @Test
    void gateUpPrefetchTakesBothHalvesWithinTheCap() {
        NextWeightPrefetch p = new NextWeightPrefetch(16 * MIB, false);
        oneStep(p);
        // 16 MiB over rows of 2 x 4096 bytes (a gate row and its up row): 2048 rows of each half, the up half at 5632
        assertArrayEquals(new long[] {0x3000, 0, 4096, 0, 2048, 5632, 0}, trailing(p, o));
        // the whole q|k|v weight (10 MiB) fits: all 2560 rows, one range
        p.note(qkv, false);
        assertArrayEquals(new long[] {0x1000, 0, 4096, 0, 2560, 0, 0}, trailing(p, down));
    }

    @Test
    void quantizedNextWeightBringsItsScalesAndEndPlacementIsPassedOn() {
        NextWeightPrefetch p = new NextWeightPrefetch(MIB, true);
        CudaWeight w4 = new CudaWeight("down_w4", CudaWeight.Format.W4A16, 0x5000, 0x6000, 0, 2048, List.of(), 2048,
                5632, 128, 2048L * 5632 / 2);
        p.note(gateUp, true);
        p.note(w4, false);
        // W4: 2816 value bytes and 2 * 44 scale bytes per row; 1 MiB / 2904 = 361 rows
        assertArrayEquals(new long[] {0x5000, 0x6000, 2816, 88, 361, 0, 1}, trailing(p, gateUp));
    }

    @Test
    void nothingWithoutASuccessorWithCapZeroOrForAConsumedWeight() {
        long[] none = {0, 0, 0, 0, 0, 0, 0};
        NextWeightPrefetch p = new NextWeightPrefetch(16 * MIB, false);
        oneStep(p);
        assertArrayEquals(none, trailing(p, down), "no successor learned yet");
        assertArrayEquals(none, trailing(p, null));
        NextWeightPrefetch off = new NextWeightPrefetch(0, false);
        oneStep(off);
        assertArrayEquals(none, trailing(off, qkv), "prefetchNextKb=0 turns it off");
        gateUp.release();
        assertArrayEquals(none, trailing(p, o), "a weight consumed by concatRows is never named");
        p.clear();
        assertNull(p.after(qkv));
    }

    @Test
    void rejectsAnUnknownPlacement() {
        String old = System.getProperty("tinyrt.cuda.prefetchNextAt");
        System.setProperty("tinyrt.cuda.prefetchNextAt", "middle");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, NextWeightPrefetch::fromProperties);
            assertEquals("tinyrt.cuda.prefetchNextAt must be start or end, not middle", e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty("tinyrt.cuda.prefetchNextAt");
            } else {
                System.setProperty("tinyrt.cuda.prefetchNextAt", old);
            }
        }
    }
}
