package dev.tinyrt.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * Times every operation of a step on the GPU's clock: an event after each op, and a spin kernel at the head of the
 * step so the host has enqueued the whole step before the GPU starts it — the ops then run back to back as in a
 * graph replay, and each interval is the op's own time (plus the small gap before it), not the host's launch
 * latency.
 */
final class OpProfiler implements AutoCloseable {
    /** One op of a profiled step: its label, GPU time and an estimate of the bytes it moved. */
    record OpTime(String label, double micros, long bytes) {
    }

    private final CudaDriver driver;
    private final MemorySegment stream;
    private final List<MemorySegment> events = new ArrayList<>();
    private final List<String> labels = new ArrayList<>();
    private final List<Long> bytes = new ArrayList<>();
    private final MemorySegment scratch = Arena.global().allocate(JAVA_FLOAT);
    private int used;
    private boolean active;

    OpProfiler(CudaDriver driver, MemorySegment stream) {
        this.driver = driver;
        this.stream = stream;
    }

    /** Starts a step; {@code spin} enqueues the head-of-step wait. */
    void begin(Runnable spin) {
        labels.clear();
        bytes.clear();
        used = 0;
        spin.run();
        record();
        active = true;
    }

    boolean active() {
        return active;
    }

    void after(String label, long movedBytes) {
        if (active) {
            labels.add(label);
            bytes.add(movedBytes);
            record();
        }
    }

    private void record() {
        if (used == events.size()) {
            events.add(driver.createEvent());
        }
        driver.record(events.get(used++), stream);
    }

    List<OpTime> end() {
        active = false;
        List<OpTime> out = new ArrayList<>();
        if (used == 0) {
            return out;
        }
        driver.synchronizeEvent(events.get(used - 1));
        for (int i = 0; i < labels.size(); i++) {
            double ms = driver.elapsedMs(events.get(i), events.get(i + 1), scratch);
            out.add(new OpTime(labels.get(i), ms * 1e3, bytes.get(i)));
        }
        return out;
    }

    @Override
    public void close() {
        for (MemorySegment e : events) {
            driver.destroyEvent(e);
        }
        events.clear();
    }
}
