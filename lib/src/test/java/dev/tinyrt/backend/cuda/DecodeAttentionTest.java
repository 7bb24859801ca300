package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.KvCacheDtype;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DecodeAttentionTest {
    private static final int SPLIT = DecodeAttention.BATCH_SPLIT_KEYS;

    @Test
    void batchesFromTheThresholdUseOneBlockPerKvHeadWithTheWholeGroup() {
        DecodeAttention a = DecodeAttention.choose(KvCacheDtype.FP16, 128, 32, 4, 64, 4, 256, 8, SPLIT);
        assertTrue(a.batched());
        assertEquals("tinyrt_attn_decode_batch_d64_g8", a.kernel());
        assertEquals(4, a.gridX());
        assertEquals(128, a.threads());
        assertEquals(new DecodeSplits(256, 1), a.splits());
        assertEquals(128L * 4, a.counters(128));
        assertEquals(256, DecodeAttention.choose(KvCacheDtype.FP16, 8, 8, 8, 128, 1, 256, 8, SPLIT).threads());
    }

    @Test
    void splitsDependOnTheCapacityOnlyNotOnTheBatch() {
        DecodeAttention few = DecodeAttention.choose(KvCacheDtype.FP16, 8, 32, 4, 64, 4, 8192, 8, SPLIT);
        DecodeAttention many = DecodeAttention.choose(KvCacheDtype.FP16, 256, 32, 4, 64, 4, 8192, 8, SPLIT);
        assertEquals(new DecodeSplits(256, 32), few.splits());
        assertEquals(few.splits(), many.splits());
        assertEquals(new DecodeSplits(64, 3), DecodeAttention.choose(KvCacheDtype.FP16, 8, 32, 4, 64, 4, 160, 8, 64).splits());
    }

    @Test
    void smallBatchesAndShapesWithoutABatchedKernelKeepTheLatencyKernel() {
        DecodeAttention small = DecodeAttention.choose(KvCacheDtype.FP16, 7, 32, 4, 64, 4, 256, 8, SPLIT);
        assertFalse(small.batched());
        assertEquals("tinyrt_attn_decode_d64_g4", small.kernel());
        assertEquals(8, small.gridX());
        assertEquals(DecodeSplits.forCapacity(256, 64), small.splits());
        assertFalse(DecodeAttention.choose(KvCacheDtype.FP16, 64, 8, 2, 32, 4, 256, 8, SPLIT).batched(), "head_dim 32");
        assertFalse(DecodeAttention.choose(KvCacheDtype.FP16, 64, 15, 5, 64, 1, 256, 8, SPLIT).batched(), "group 3");
        assertFalse(DecodeAttention.choose(KvCacheDtype.FP16, 64, 32, 2, 64, 4, 256, 8, SPLIT).batched(), "group 16");
        assertFalse(DecodeAttention.choose(KvCacheDtype.FP16, 512, 32, 4, 64, 4, 256, 0, SPLIT).batched(), "0 turns it off");
        DecodeAttention int8 = DecodeAttention.choose(KvCacheDtype.INT8, 7, 32, 4, 64, 4, 256, 8, SPLIT);
        assertFalse(int8.batched());
        assertEquals("tinyrt_attn_decode_int8_d64_g4", int8.kernel());
        assertTrue(DecodeAttention.choose(KvCacheDtype.FP16, 1, 8, 8, 64, 1, 256, 1, SPLIT).batched(), "forced from one row");
    }

    @Test
    void theWideLatencyKernelTakesAHeadPerBlockAndLeavesShortContextsOneSplit() {
        DecodeAttention one = DecodeAttention.choose(KvCacheDtype.FP16, 1, 32, 4, 64, 4, 256, 8, SPLIT, true);
        assertFalse(one.batched());
        assertEquals("tinyrt_attn_decode_wide_d64_g1", one.kernel());
        assertEquals(32, one.gridX());
        assertEquals(512, one.threads());
        assertEquals(new DecodeSplits(256, 1), one.splits());
        assertEquals(32L, one.counters(1));
        assertEquals(new DecodeSplits(256, 8), DecodeAttention.choose(KvCacheDtype.FP16, 1, 32, 4, 64, 4, 2048, 8, SPLIT,
                true).splits());
        assertEquals(new DecodeSplits(128, 2), DecodeAttention.choose(KvCacheDtype.INT8, 3, 16, 1, 128, 1, 256, 8, SPLIT,
                true).splits(), "128-dim heads: 128-key tiles");
        assertEquals("tinyrt_attn_decode_wide_fp8_d64_g1", DecodeAttention.choose(KvCacheDtype.FP8, 1, 32, 4, 64, 4,
                256, 8, SPLIT, true).kernel());
        assertTrue(DecodeAttention.choose(KvCacheDtype.FP16, 128, 32, 4, 64, 4, 256, 8, SPLIT, true).batched(),
                "batches from the threshold keep the batched kernel");
        for (KvCacheDtype kv : KernelNames.KV_DTYPES) {
            for (int d : new int[]{16, 32, 64, 128}) {
                assertTrue(KernelNames.all().contains(KernelNames.attentionDecodeWide(kv, d)), kv + " d" + d);
            }
        }
    }

    @Test
    void quantizedCachesUseTheBatchedKernelOfTheirTypeWithTheSameGridAndSplits() {
        DecodeAttention fp16 = DecodeAttention.choose(KvCacheDtype.FP16, 128, 32, 4, 64, 4, 8192, 8, SPLIT);
        for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
            DecodeAttention a = DecodeAttention.choose(kv, 128, 32, 4, 64, 4, 8192, 8, SPLIT);
            assertTrue(a.batched(), kv.label());
            assertEquals("tinyrt_attn_decode_batch_" + kv.label() + "_d64_g8", a.kernel());
            assertEquals(new DecodeAttention(a.kernel(), fp16.gridX(), fp16.threads(), fp16.splits(), true), a);
        }
        assertFalse(DecodeAttention.choose(KvCacheDtype.FP8, 64, 8, 2, 32, 4, 256, 8, SPLIT).batched(), "head_dim 32");
    }

    @Test
    void everyBatchedKernelIsListed() {
        for (KvCacheDtype kv : KernelNames.KV_DTYPES) {
            for (int d : KernelNames.BATCH_DECODE_HEAD_DIMS) {
                for (int g : KernelNames.BATCH_DECODE_GROUPS) {
                    assertTrue(KernelNames.all().contains(KernelNames.attentionDecodeBatch(kv, d, g)));
                }
            }
        }
    }
}
