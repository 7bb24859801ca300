package dev.tinyrt.backend.cuda;

import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Records forward steps as CUDA graphs and replays them. A step is recorded the second time its key is seen (a
 * one-off shape, such as a prompt length that never recurs, is not worth recording) and replayed from then on, so
 * a decode loop records once per batch size and block-table width and then launches ~200 kernels with one call.
 * A key whose recording fails (something in it cannot be captured) runs eagerly from then on; the first such
 * failure is kept for reports.
 *
 * @param <G> a recorded, launchable graph
 */
final class StepGraphs<G> implements AutoCloseable {
    /** How graphs are made and run; the CUDA backend implements it with stream capture. */
    interface Recorder<G> {
        G record(Runnable work);

        void replay(G graph);

        void destroy(G graph);
    }

    private static final int MAX_SIGHTINGS = 4096;

    private final Recorder<G> recorder;
    private final int capacity;
    private final Map<Object, G> graphs;
    private final Map<Object, Integer> sightings;
    private final Set<Object> uncapturable = new HashSet<>();
    private boolean enabled = true;
    private long recorded;
    private long replayed;
    private long eager;
    private long recordNanos;
    private String firstFailure;
    private G lastReplayed;

    StepGraphs(Recorder<G> recorder, int capacity) {
        this.recorder = recorder;
        this.capacity = capacity;
        this.graphs = new LinkedHashMap<>(16, 0.75f, true);
        this.sightings = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Object, Integer> eldest) {
                return size() > MAX_SIGHTINGS;
            }
        };
    }

    void run(Object key, Runnable work) {
        if (!enabled || uncapturable.contains(key)) {
            eager++;
            work.run();
            return;
        }
        G graph = graphs.get(key);
        if (graph == null) {
            if (sightings.merge(key, 1, Integer::sum) < 2) {
                eager++;
                work.run();
                return;
            }
            long t0 = System.nanoTime();
            try {
                graph = recorder.record(work);
            } catch (RuntimeException e) {
                uncapturable.add(key);
                if (firstFailure == null) {
                    firstFailure = e.toString();
                }
                eager++;
                work.run();
                return;
            }
            recordNanos += System.nanoTime() - t0;
            recorded++;
            graphs.put(key, graph);
            evictBeyondCapacity();
        }
        recorder.replay(graph);
        replayed++;
        lastReplayed = graph;
    }

    /** The graph replayed most recently, or null (also after invalidation). */
    G lastReplayed() {
        return lastReplayed;
    }

    private void evictBeyondCapacity() {
        Iterator<Map.Entry<Object, G>> it = graphs.entrySet().iterator();
        while (graphs.size() > capacity && it.hasNext()) {
            G eldest = it.next().getValue();
            it.remove();
            if (eldest == lastReplayed) {
                lastReplayed = null;
            }
            recorder.destroy(eldest);
        }
    }

    /** Drops every graph: buffers they point to are about to move. Later steps record again. */
    void invalidate() {
        for (G g : graphs.values()) {
            recorder.destroy(g);
        }
        graphs.clear();
        lastReplayed = null;
    }

    void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    int size() {
        return graphs.size();
    }

    long recorded() {
        return recorded;
    }

    long replayed() {
        return replayed;
    }

    long eager() {
        return eager;
    }

    double recordMillis() {
        return recordNanos / 1e6;
    }

    /** The first recording failure, or null. */
    String firstFailure() {
        return firstFailure;
    }

    @Override
    public void close() {
        invalidate();
    }
}
