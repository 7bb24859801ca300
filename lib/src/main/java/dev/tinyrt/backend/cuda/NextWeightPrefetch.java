package dev.tinyrt.backend.cuda;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Which weight a decode step multiplies after each one, and the arguments that let a fused batch-1 GEMV pull that
 * next weight into L2 (common.cuh, prefetch_next_weight). The order is learned from the products as they are issued:
 * a step multiplies its weights in the same order every time (q|k|v, o_proj, gate|up, down per layer, then the LM
 * head), so from the second step on every product knows its successor, and the step that a CUDA graph records
 * carries the prefetches. A batch-1 GEMV alone moves its weight as one burst that never reaches the copy bandwidth;
 * with the next weight in L2 the DRAM stream runs on across the kernel boundary.
 *
 * <p>-Dtinyrt.cuda.prefetchNextKb=N caps the bytes prefetched per product (KiB, default 16384; 0 turns it off): the
 * H100's L2 is 50 MB, and a prefetch too large is evicted before use. -Dtinyrt.cuda.prefetchNextAt=end issues it as
 * each block leaves instead of at its start.
 */
final class NextWeightPrefetch {
    /** A product's weight and whether it is a fused gate|up weight, whose kernel reads row r with row half + r. */
    private record Product(CudaWeight weight, boolean gateUp) {
    }

    private final long capBytes;
    private final boolean atEnd;
    private final Map<CudaWeight, Product> next = new IdentityHashMap<>();
    private CudaWeight last;

    NextWeightPrefetch(long capBytes, boolean atEnd) {
        this.capBytes = Math.max(0, capBytes);
        this.atEnd = atEnd;
    }

    /** From the system properties described above. */
    static NextWeightPrefetch fromProperties() {
        long kb = Long.getLong("tinyrt.cuda.prefetchNextKb", 16384);
        String at = System.getProperty("tinyrt.cuda.prefetchNextAt", "start");
        if (!at.equals("start") && !at.equals("end")) {
            throw new IllegalArgumentException("tinyrt.cuda.prefetchNextAt must be start or end, not " + at);
        }
        return new NextWeightPrefetch(kb * 1024, at.equals("end"));
    }

    /** Records that the step multiplies {@code w} now (after the weight it multiplied last). */
    void note(CudaWeight w, boolean gateUp) {
        if (last != null && last != w) {
            next.put(last, new Product(w, gateUp));
        }
        last = w;
    }

    /** Forgets the learned order (the weights were freed). */
    void clear() {
        next.clear();
        last = null;
    }

    /** The weight learned to follow {@code w}, or null. */
    CudaWeight after(CudaWeight w) {
        Product p = next.get(w);
        return p == null ? null : p.weight();
    }

    /**
     * Appends a fused GEMV's trailing NEXT_WEIGHT_PARAMS for the product of {@code w}: the learned next weight's
     * values and scales, row bytes, the rows to prefetch (of each half, for gate|up) within the cap, the second
     * half's first row, and where the block issues it; all zero (nothing) when none is known or the cap is 0.
     */
    KernelArgs append(KernelArgs a, CudaWeight w) {
        Product p = w == null || capBytes == 0 ? null : next.get(w);
        if (p == null || p.weight().consumed()) {
            return appendNone(a);
        }
        CudaWeight n = p.weight();
        long rowBytes = n.valueBytesPerRow();
        long scaleRowBytes = n.format.quantized() && n.scales() != 0 ? n.scaleBytesPerRow() : 0;
        int halves = p.gateUp() ? 2 : 1;
        int rowsEach = n.rows() / halves;
        long perRow = (rowBytes + scaleRowBytes) * halves;
        int rows = (int) Math.min(rowsEach, Math.max(1, capBytes / perRow));
        return a.ptr(n.pointer()).ptr(scaleRowBytes > 0 ? n.scales() : 0).i64(rowBytes).i32((int) scaleRowBytes)
                .i32(rows).i32(p.gateUp() ? rowsEach : 0).i32(atEnd ? 1 : 0);
    }

    /** The trailing parameters that prefetch nothing. */
    static KernelArgs appendNone(KernelArgs a) {
        return a.ptr(0).ptr(0).i64(0).i32(0).i32(0).i32(0).i32(0);
    }

    /** For reports: the cap and the point of issue. */
    String describe() {
        return capBytes == 0 ? "off" : (capBytes >> 10) + " KiB per product, at the block's " + (atEnd ? "end" : "start");
    }
}
