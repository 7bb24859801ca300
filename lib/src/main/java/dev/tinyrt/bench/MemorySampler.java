package dev.tinyrt.bench;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Polls memory on a background thread (every {@value #PERIOD_MS} ms) while a point runs and keeps the peaks:
 * process RSS, used Java heap and, where NVML is available, device memory in use. Sampling misses spikes
 * shorter than the period; the engine's allocations (weights, KV cache) live for the whole point, so they are
 * caught.
 */
public final class MemorySampler implements AutoCloseable {
    static final long PERIOD_MS = 10;
    private final Nvml nvml;
    private final AtomicLong peakRss = new AtomicLong(-1);
    private final AtomicLong peakHeap = new AtomicLong(-1);
    private final AtomicLong peakGpu = new AtomicLong(-1);
    private final Thread thread;
    private volatile boolean stop;

    /** @param nvml device memory source, or null on a machine without a GPU */
    public MemorySampler(Nvml nvml) {
        this.nvml = nvml;
        sample();
        this.thread = Thread.ofPlatform().name("tinyrt-memory-sampler").daemon().start(this::loop);
    }

    private void loop() {
        while (!stop) {
            sample();
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void sample() {
        peakRss.accumulateAndGet(ProcessMemory.residentBytes(), Math::max);
        Runtime rt = Runtime.getRuntime();
        peakHeap.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
        if (nvml != null) {
            peakGpu.accumulateAndGet(nvml.usedBytes(), Math::max);
        }
    }

    /** Stops sampling (after one last sample) and returns the peaks; null where nothing could be measured. */
    public Peaks stop() {
        stop = true;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sample();
        return new Peaks(orNull(peakRss.get()), orNull(peakHeap.get()), orNull(peakGpu.get()));
    }

    private static Long orNull(long v) {
        return v < 0 ? null : v;
    }

    @Override
    public void close() {
        stop();
    }

    public record Peaks(Long rssBytes, Long heapBytes, Long gpuUsedBytes) {
    }
}
