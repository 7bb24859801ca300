package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.StepBatch;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepPlanTest {
    /** Sequence A: 3 new tokens at positions 4..6 over blocks [5, 2]; B: one decode token at 9 over [0, 7, 3]. */
    private static StepBatch mixed() {
        return new StepBatch(new int[]{11, 12, 13, 14}, new int[]{4, 5, 6, 9},
                List.of(new StepBatch.Chunk(0, 3, 7, new int[]{5, 2}), new StepBatch.Chunk(3, 1, 10, new int[]{0, 7, 3})),
                new int[]{2, 3});
    }

    @Test
    void packsEveryArrayWhereTheOffsetsSay() {
        StepPlan p = StepPlan.of(mixed(), 4, 8, 2);
        int[] a = p.packed();
        assertEquals(4, p.tokens());
        assertEquals(2, p.sequences());
        assertEquals(4, p.width(), "longest table 3, padded to a power of two");
        assertArrayEquals(new int[]{11, 12, 13, 14}, Arrays.copyOfRange(a, p.tokensAt(), p.tokensAt() + 4));
        assertArrayEquals(new int[]{4, 5, 6, 9}, Arrays.copyOfRange(a, p.positionsAt(), p.positionsAt() + 4));
        // slot = table[pos / 4] * 4 + pos % 4: A pos 4,5,6 -> block 2; B pos 9 -> block 3, offset 1
        assertArrayEquals(new int[]{8, 9, 10, 13}, Arrays.copyOfRange(a, p.slotsAt(), p.slotsAt() + 4));
        assertArrayEquals(new int[]{0, 0, 0, 1}, Arrays.copyOfRange(a, p.rowSequenceAt(), p.rowSequenceAt() + 4));
        assertArrayEquals(new int[]{2, 3}, Arrays.copyOfRange(a, p.logitRowsAt(), p.logitRowsAt() + 2));
        // tiles of 2 rows per sequence: A rows 0-1, A row 2, B row 3
        assertEquals(3, p.tiles());
        assertArrayEquals(new int[]{0, 0, 2, 0, 2, 1, 1, 3, 1}, Arrays.copyOfRange(a, p.tilesAt(), p.tilesAt() + 9));
        assertArrayEquals(new int[]{5, 2, 0, 0, 0, 7, 3, 0}, Arrays.copyOfRange(a, p.blockTablesAt(),
                p.blockTablesAt() + 8));
        assertEquals(p.blockTablesAt() + 8, a.length);
        assertEquals(4L * a.length, p.bytes());
        assertFalse(p.decodeOnly());
        assertEquals(9, p.maxPosition());
        assertEquals(5 + 6 + 7 + 10, p.keysRead());
    }

    @Test
    void decodeStepsOfDifferentLengthsShareAShapeUntilTheTableWidthChanges() {
        StepPlan a = StepPlan.of(decode(40, 2), 32, 16, 4);
        StepPlan b = StepPlan.of(decode(41, 2), 32, 16, 4);
        StepPlan c = StepPlan.of(decode(70, 3), 32, 16, 4);
        assertTrue(a.decodeOnly());
        assertEquals(a.shape(), b.shape());
        assertNotEquals(a.packed()[a.positionsAt()], b.packed()[b.positionsAt()]);
        assertEquals(4, c.width());
        assertNotEquals(a.shape(), c.shape());
    }

    private static StepBatch decode(int length, int blocks) {
        int[] table = new int[blocks];
        Arrays.setAll(table, i -> i);
        return new StepBatch(new int[]{7}, new int[]{length - 1}, List.of(new StepBatch.Chunk(0, 1, length, table)),
                new int[]{0});
    }

    @Test
    void rejectsWhatWouldMakeKernelsReadOrWriteOutsideTheCache() {
        StepBatch outside = new StepBatch(new int[]{1}, new int[]{0},
                List.of(new StepBatch.Chunk(0, 1, 1, new int[]{8})), new int[]{0});
        assertThrows(IllegalArgumentException.class, () -> StepPlan.of(outside, 4, 8, 1));
        StepBatch uncovered = new StepBatch(new int[]{1}, new int[]{4},
                List.of(new StepBatch.Chunk(0, 1, 5, new int[]{0})), new int[]{0});
        assertThrows(IllegalArgumentException.class, () -> StepPlan.of(uncovered, 4, 8, 1));
        StepBatch gap = new StepBatch(new int[]{1, 2}, new int[]{0, 2},
                List.of(new StepBatch.Chunk(0, 2, 3, new int[]{0})), new int[]{1});
        assertThrows(IllegalArgumentException.class, () -> StepPlan.of(gap, 4, 8, 1));
    }

    @Test
    void decodeSplitsAreKernelTilesUpTo64ThenLonger() {
        assertEquals(64, DecodeSplits.tile(64));
        assertEquals(32, DecodeSplits.tile(128));
        assertEquals(256, DecodeSplits.tile(16));
        DecodeSplits small = DecodeSplits.forCapacity(256, 64);
        assertEquals(64, small.length());
        assertEquals(4, small.count());
        DecodeSplits one = DecodeSplits.forCapacity(32, 64);
        assertEquals(1, one.count());
        assertEquals(64, DecodeSplits.forCapacity(4096, 64).count());
        DecodeSplits longer = DecodeSplits.forCapacity(8192, 64);
        assertEquals(128, longer.length(), "two tiles per split");
        assertEquals(64, longer.count());
        DecodeSplits odd = DecodeSplits.forCapacity(5000, 128);
        assertEquals(0, odd.length() % DecodeSplits.tile(128));
        assertTrue(odd.length() * odd.count() >= 5000 && odd.count() <= 64);
    }
}
