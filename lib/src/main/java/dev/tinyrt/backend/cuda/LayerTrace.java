package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.bench.Stats;

import java.util.Arrays;

/**
 * The decode-layer kernel's stage trace (-Dtinyrt.cuda.layerTrace=true): with it, thread 0 of every block writes the
 * GPU clock at twelve points of each layer (layer.cuh, LayerEvent). This reduces those stamps to where a layer's time
 * goes: for each point, when the first and the last block reached it, relative to the first block's start, as the
 * median over the traced launches.
 */
final class LayerTrace {
    /** The points, in layer.cuh's order (a stage's "ready" is when its input is there: after its barrier). */
    static final String[] EVENTS = {"start", "qkv_ready", "qkv_end", "attention_ready", "attention_end",
        "o_proj_ready", "o_proj_end", "gate_up_ready", "gate_up_end", "down_ready", "down_end", "exit"};

    /** Launch regions the trace buffer holds; launches take them in turn. */
    static final int SLOTS = 64;

    private LayerTrace() {
    }

    /** Bytes of the trace buffer for grids of up to {@code maxGrid} blocks. */
    static long bufferBytes(int maxGrid) {
        return (long) SLOTS * regionBytes(maxGrid);
    }

    /** Bytes of one launch's region. */
    static long regionBytes(int maxGrid) {
        return 8L * EVENTS.length * maxGrid;
    }

    /**
     * The medians over launches. {@code raw} holds SLOTS regions of {@code maxGrid * EVENTS.length} stamps; a region
     * counts when its first {@code grid} blocks all stamped every point (a cleared buffer holds zeros).
     */
    static Summary summarize(long[] raw, int maxGrid, int grid) {
        if (grid < 1 || grid > maxGrid || raw.length < SLOTS * maxGrid * EVENTS.length) {
            throw new IllegalArgumentException("trace of " + raw.length + " stamps for grid " + grid + " of "
                    + maxGrid);
        }
        int e = EVENTS.length;
        double[][] first = new double[e][SLOTS], last = new double[e][SLOTS];
        int launches = 0;
        for (int s = 0; s < SLOTS; s++) {
            int base = s * maxGrid * e;
            long t0 = Long.MAX_VALUE;
            boolean complete = true;
            for (int b = 0; b < grid && complete; b++) {
                for (int v = 0; v < e; v++) {
                    complete &= raw[base + b * e + v] != 0;
                }
                t0 = Math.min(t0, raw[base + b * e]);
            }
            if (!complete) {
                continue;
            }
            for (int v = 0; v < e; v++) {
                long lo = Long.MAX_VALUE, hi = Long.MIN_VALUE;
                for (int b = 0; b < grid; b++) {
                    long t = raw[base + b * e + v];
                    lo = Math.min(lo, t);
                    hi = Math.max(hi, t);
                }
                first[v][launches] = (lo - t0) / 1e3;
                last[v][launches] = (hi - t0) / 1e3;
            }
            launches++;
        }
        double[] f = new double[e], l = new double[e];
        for (int v = 0; v < e && launches > 0; v++) {
            f[v] = Stats.of(Arrays.copyOf(first[v], launches)).median();
            l[v] = Stats.of(Arrays.copyOf(last[v], launches)).median();
        }
        return new Summary(launches, grid, f, l);
    }

    /** Per point: the first and the last block's time in microseconds after the launch's first block started. */
    record Summary(int launches, int grid, double[] firstUs, double[] lastUs) {
        ObjectNode toJson() {
            ObjectNode n = JsonNodeFactory.instance.objectNode();
            n.put("method", "thread 0 of each block stamps %globaltimer at each point; per launch, the first and last "
                    + "block's time after the first block's start; medians over the traced launches (eager steps and "
                    + "graph replays alike)");
            n.put("launches", launches).put("grid", grid);
            ObjectNode points = n.putObject("points_us");
            for (int v = 0; v < EVENTS.length; v++) {
                points.putObject(EVENTS[v]).put("first", round(firstUs[v])).put("last", round(lastUs[v]));
            }
            return n;
        }

        private static double round(double us) {
            return Math.round(us * 100) / 100.0;
        }
    }
}
