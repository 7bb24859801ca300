package dev.tinyrt.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/** Splits index ranges over a fixed pool of worker threads (one per core by default). */
final class Parallel implements AutoCloseable {
    interface RangeBody {
        void run(int from, int to);
    }

    private final ForkJoinPool pool;
    private final int threads;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = new ForkJoinPool(this.threads);
    }

    int threads() {
        return threads;
    }

    /** Runs body over [0, n) in chunks of at least {@code grain} indexes. */
    void forRange(int n, int grain, RangeBody body) {
        int chunks = Math.min(threads * 4, (n + grain - 1) / Math.max(1, grain));
        if (chunks <= 1 || threads == 1) {
            body.run(0, n);
            return;
        }
        pool.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = (int) ((long) n * c / chunks);
            int to = (int) ((long) n * (c + 1) / chunks);
            if (from < to) {
                body.run(from, to);
            }
        })).join();
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
