package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class WeightPackingTest {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    @Test
    void int4WordsHoldTheEvenColumnsInTheLowNibblesAndTheOddOnesInTheHighOnes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment words = arena.allocate(8);
            words.setAtIndex(INT, 0, 0x76543210);  // columns 0..7 hold their own index
            words.setAtIndex(INT, 1, 0xFEDCBA98);
            WeightPacking.evenNibblesFirst(words);
            assertEquals(0x75316420, words.getAtIndex(INT, 0));
            assertEquals(0xFDB9ECA8, words.getAtIndex(INT, 1));
        }
    }

    @Test
    void everyColumnOfRandomWordsIsWhereTheKernelsReadIt() {
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            int n = 64;
            MemorySegment words = arena.allocate(4L * n);
            int[] original = new int[n];
            for (int i = 0; i < n; i++) {
                original[i] = random.nextInt();
                words.setAtIndex(INT, i, original[i]);
            }
            WeightPacking.evenNibblesFirst(words);
            for (int i = 0; i < n; i++) {
                int packed = words.getAtIndex(INT, i);
                for (int p = 0; p < 8; p++) {  // qgemv.cuh QW4::decode: nibble p is column 2p, or 2(p - 4) + 1
                    int column = p < 4 ? 2 * p : 2 * (p - 4) + 1;
                    assertEquals((original[i] >>> (4 * column)) & 0xF, (packed >>> (4 * p)) & 0xF,
                            "word " + i + " nibble " + p);
                }
            }
        }
    }

    @Test
    void aWeightThatIsNotWholeWordPairsIsRefused() {
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> WeightPacking.evenNibblesFirst(arena.allocate(12)));
        }
    }
}
