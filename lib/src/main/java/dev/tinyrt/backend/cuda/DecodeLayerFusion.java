package dev.tinyrt.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * Holds back the five launches of a batch-1 decoder layer (the fused q|k|v GEMV with its norm, the decode attention
 * with its RoPE, the o_proj GEMV with its residual add, the gate|up GEMV with its norm, the down GEMV with its
 * residual add) so that {@link CudaBackend} can launch them as one decode-layer kernel (layer.cuh), which runs the
 * same five stages with grid barriers where the launches would have waited for each other. Anything else that
 * reaches the stream first takes them back as they were ({@link #drain}). It only collects; the backend decides.
 */
final class DecodeLayerFusion {
    /** The stages in the order a layer launches them. */
    enum Stage {
        QKV, ATTENTION, O_PROJ, GATE_UP, DOWN
    }

    /** One held launch as it would have gone out, with the profiler labels that followed it. */
    record Launch(Stage stage, String kernel, int gridX, int gridY, int gridZ, int block, int shared, long[] args,
                  int cols, List<Mark> marks) {
    }

    /** A profiler label and its bytes, recorded after a held launch. */
    record Mark(String label, long bytes) {
    }

    private final List<Launch> held = new ArrayList<>(5);
    private String format;

    boolean isEmpty() {
        return held.isEmpty();
    }

    /** The weight format of the held GEMVs (null for fp16, as KernelNames takes it). */
    String format() {
        return format;
    }

    /**
     * Holds {@code launch} if it is the layer's next stage ({@code gemvFormat}: the GEMV's kernel format; null and
     * ignored for the attention); false if it is not, and then nothing is held for it. A q|k|v stage only starts an
     * empty layer.
     */
    boolean hold(Launch launch, String gemvFormat) {
        if (held.size() != launch.stage().ordinal()) {
            return false;
        }
        if (launch.stage() == Stage.QKV) {
            format = gemvFormat;
        } else if (launch.stage() != Stage.ATTENTION && !java.util.Objects.equals(format, gemvFormat)) {
            return false;
        }
        held.add(launch);
        return true;
    }

    /** Records a profiler label for the last held launch. */
    void mark(String label, long bytes) {
        held.getLast().marks().add(new Mark(label, bytes));
    }

    /** The stage the layer takes next; null once it is complete. */
    Stage next() {
        return complete() ? null : Stage.values()[held.size()];
    }

    boolean complete() {
        return held.size() == Stage.values().length;
    }

    /** The held launches, in order, and nothing held afterwards. */
    List<Launch> drain() {
        List<Launch> out = List.copyOf(held);
        held.clear();
        format = null;
        return out;
    }

    /** The widest x any GEMV stage reads (its columns): the layer kernel stages it in shared memory. */
    static int widestX(List<Launch> layer) {
        return layer.stream().mapToInt(Launch::cols).max().orElse(0);
    }

    /**
     * The decode-layer kernel's arguments: the barrier counter, the attention's rows, the prefetch lookahead (stages,
     * the sixth being the next layer's q|k|v) and cap (bytes per block and stage), the next layer's q|k|v weight and
     * scales (0: none), the stage trace's buffer (0: none; LayerTrace), then every stage's.
     */
    static void layerArgs(KernelArgs a, long barrier, int prefetchStages, int prefetchCap, long nextQkvWeight,
                          long nextQkvScales, long trace, List<Launch> layer) {
        if (prefetchStages < 0 || prefetchStages > Stage.values().length + 1 || prefetchCap < 0) {
            throw new IllegalArgumentException("decode-layer prefetch: lookahead " + prefetchStages
                    + " (0 to 6 stages), cap " + prefetchCap + " bytes");
        }
        a.reset().ptr(barrier).i32(layer.get(Stage.ATTENTION.ordinal()).gridY()).i32(prefetchStages).i32(prefetchCap)
                .ptr(nextQkvWeight).ptr(nextQkvScales).ptr(trace);
        for (Launch l : layer) {
            a.append(l.args());
        }
    }
}
