package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MatmulTacticsTest {
    private static MatmulTactics.Shape shape(int n, int k, boolean swiglu) {
        return new MatmulTactics.Shape(n, 2048, k, false, swiglu);
    }

    @Test
    void gemvAppliesToFewRowsOfAlignedProducts() {
        assertTrue(MatmulTactics.gemvApplies(shape(1, 2048, false)));
        assertTrue(MatmulTactics.gemvApplies(shape(8, 2048, false)));
        assertFalse(MatmulTactics.gemvApplies(shape(9, 2048, false)));
        assertFalse(MatmulTactics.gemvApplies(shape(1, 100, false)), "k must be a multiple of 8 (16-byte loads)");
        assertTrue(MatmulTactics.gemvApplies(shape(8, 2048, true)), "gate|up with SwiGLU in the epilogue");
        assertFalse(MatmulTactics.gemvApplies(shape(9, 2048, true)));
    }

    @Test
    void aQuantizedWeightTakesItsGemvWithoutTiming() {
        MatmulTactics t = new MatmulTactics(true);
        MatmulTactics.Shape q = new MatmulTactics.Shape(1, 2048, 2048, false, false, "W8A16");
        assertEquals(MatmulTactics.Tactic.GEMV, t.choose(q, true, tactic -> {
            throw new AssertionError("timed: back-to-back timing hides the dequantization in L2");
        }));
        MatmulTactics.Shape prefill = new MatmulTactics.Shape(64, 2048, 2048, false, false, "W4A16");
        assertEquals(MatmulTactics.Tactic.CUBLAS, t.choose(prefill, true, tactic -> 1.0), "beyond the GEMV's rows");
    }

    @Test
    void measuresBothOnceAndKeepsTheFaster() {
        MatmulTactics t = new MatmulTactics(true);
        List<MatmulTactics.Tactic> timed = new ArrayList<>();
        MatmulTactics.Tactic first = t.choose(shape(2, 2048, false), true, tactic -> {
            timed.add(tactic);
            return tactic == MatmulTactics.Tactic.CUBLAS ? 3.0 : 5.0;
        });
        assertEquals(MatmulTactics.Tactic.CUBLAS, first);
        assertEquals(List.of(MatmulTactics.Tactic.GEMV, MatmulTactics.Tactic.CUBLAS), timed);
        MatmulTactics.Tactic again = t.choose(shape(2, 2048, false), true, tactic -> {
            throw new AssertionError("measured twice");
        });
        assertEquals(MatmulTactics.Tactic.CUBLAS, again);
        assertTrue(t.table().getFirst().measured());
    }

    @Test
    void aOneRowGemvWinsWithinTheCreditOfTheKernelItFusesAway() {
        MatmulTactics t = new MatmulTactics(true);
        // one row, fp16 out: 1 us slower than cuBLAS is still chosen (it saves the add + norm kernel)
        assertEquals(MatmulTactics.Tactic.GEMV, t.choose(shape(1, 5632, false), true,
                tactic -> tactic == MatmulTactics.Tactic.CUBLAS ? 9.0 : 10.0));
        assertEquals(MatmulTactics.Tactic.CUBLAS, t.choose(shape(1, 2048, false), true,
                tactic -> tactic == MatmulTactics.Tactic.CUBLAS ? 9.0 : 12.0), "beyond the credit");
        assertEquals(MatmulTactics.Tactic.CUBLAS, t.choose(shape(2, 5632, false), true,
                tactic -> tactic == MatmulTactics.Tactic.CUBLAS ? 9.0 : 10.0), "two rows fuse nothing");
        assertEquals(MatmulTactics.Tactic.CUBLAS, t.choose(shape(1, 5632, true), true,
                tactic -> tactic == MatmulTactics.Tactic.CUBLAS ? 9.0 : 10.0), "gate|up has no residual epilogue");
    }

    @Test
    void longRowsAreSplitOverWarpsKeepingEightChunksPerLane() {
        assertEquals(1, KernelNames.splitK(2L * 2048, 0), "fp16 k=2048: one warp per row");
        assertEquals(2, KernelNames.splitK(2L * 5632, 0), "fp16 down: 704 chunks -> 2 warps, 11 chunks per lane");
        assertEquals(1, KernelNames.splitK(5632, 0), "int8 down: 352 chunks -> 1 warp");
        assertEquals(1, KernelNames.splitK(5632 / 2, 0), "int4 down: 176 chunks -> 1 warp");
        assertEquals(1, KernelNames.splitK(16L * 511, 0), "511 chunks -> 1 warp");
        assertEquals(2, KernelNames.splitK(16L * 512, 0), "512 chunks -> 2 warps, 8 per lane");
        assertEquals(8, KernelNames.splitK(2L * 65536, 0), "at most 8 warps (one row per block)");
        assertEquals(2, KernelNames.splitK(2L * 2048, 2), "forced");
        assertEquals(4, KernelNames.gemvRowsPerBlock(2));
    }

    @Test
    void withoutMeasuringTheRuleIsGemvWhereItApplies() {
        MatmulTactics t = new MatmulTactics(true);
        assertEquals(MatmulTactics.Tactic.GEMV, t.choose(shape(1, 2048, false), false, x -> {
            throw new AssertionError("must not measure while recording");
        }));
        assertEquals(MatmulTactics.Tactic.CUBLAS, t.choose(shape(37, 2048, false), true, x -> {
            throw new AssertionError("nothing to compare");
        }));
        MatmulTactics off = new MatmulTactics(false);
        assertEquals(MatmulTactics.Tactic.GEMV, off.choose(shape(3, 2048, false), true, x -> {
            throw new AssertionError("autotuning is off");
        }));
        off.force(shape(3, 2048, false), MatmulTactics.Tactic.CUBLAS);
        assertEquals(MatmulTactics.Tactic.CUBLAS, off.choose(shape(3, 2048, false), true, x -> 0));
    }

    @Test
    void kernelSpecializationsCoverEveryGroupSize() {
        assertEquals(8, KernelNames.headsPerBlock(32, 4));
        assertEquals(8, KernelNames.headsPerBlock(16, 1), "group 16: two blocks per KV head");
        assertEquals(4, KernelNames.headsPerBlock(8, 2));
        assertEquals(1, KernelNames.headsPerBlock(6, 2), "group 3");
        assertEquals(1, KernelNames.headsPerBlock(4, 4));
        assertEquals("tinyrt_gemv_n3_f32", KernelNames.gemv(3, true));
        assertEquals(4, KernelNames.decodeHeadsPerBlock(32, 4), "decode blocks serve at most 4 heads");
        assertEquals(2, KernelNames.decodeHeadsPerBlock(8, 4));
        assertEquals(1, KernelNames.decodeHeadsPerBlock(6, 2));
        assertEquals("tinyrt_attn_decode_d64_g4", KernelNames.attentionDecode(64, 4));
        assertTrue(KernelNames.supportsHeadDim(128));
        assertFalse(KernelNames.supportsHeadDim(80));
    }
}
