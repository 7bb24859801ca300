package dev.tinyrt.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits index ranges over the calling thread plus {@code threads - 1} resident workers.
 *
 * <p>A decode step makes a few hundred parallel calls of a few hundred microseconds each, so hand-off latency
 * matters more than anything else here: the caller works on the range too, chunks are claimed from one atomic
 * counter (a core lost to another process slows the step down instead of stalling it), and idle workers spin
 * briefly before parking, so back-to-back calls do not pay a thread wake-up each. Results never depend on the
 * split: every kernel computes each output element the same way whoever runs it.
 */
final class Parallel implements AutoCloseable {
    interface RangeBody {
        void run(int from, int to);
    }

    /** How long an idle worker (or the waiting caller) spins before parking, in nanoseconds. */
    private static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Worker[] workers;
    private final ReentrantLock callerLock = new ReentrantLock();
    private volatile Job current;
    private volatile boolean closed;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.workers = new Worker[this.threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            Thread t = Thread.ofPlatform().daemon().name("tinyrt-cpu-" + (i + 1)).unstarted(workers[i]);
            workers[i].thread = t;
            t.start();
        }
    }

    int threads() {
        return threads;
    }

    /**
     * Runs body over [0, n) in chunks of {@code grain} indexes (the last may be shorter); chunk boundaries are
     * multiples of {@code grain}. A nested call, or one made while another thread's call is running, runs
     * entirely in its calling thread.
     */
    void forRange(int n, int grain, RangeBody body) {
        int g = Math.max(1, grain);
        int chunks = (int) (((long) n + g - 1) / g);
        if (chunks <= 1 || workers.length == 0 || !callerLock.tryLock()) {
            body.run(0, n);
            return;
        }
        try {
            if (closed) {
                throw new IllegalStateException("the CPU backend is closed");
            }
            Job job = new Job(body, n, g, chunks, Math.min(workers.length, chunks - 1), Thread.currentThread());
            current = job;
            for (Worker w : workers) {
                LockSupport.unpark(w.thread);
            }
            job.work();
            job.awaitHelpers();
            current = null;
            job.rethrow();
        } finally {
            callerLock.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
    }

    /** One parallel call: the range, the next unclaimed chunk and the helpers still to check in. */
    private static final class Job {
        private final RangeBody body;
        private final int n;
        private final int grain;
        private final int chunks;
        private final Thread caller;
        private final AtomicInteger nextChunk = new AtomicInteger();
        private final AtomicInteger helperSlots;
        private final AtomicInteger helpersRunning = new AtomicInteger();
        private volatile Throwable failure;

        Job(RangeBody body, int n, int grain, int chunks, int helpers, Thread caller) {
            this.body = body;
            this.n = n;
            this.grain = grain;
            this.chunks = chunks;
            this.caller = caller;
            this.helperSlots = new AtomicInteger(helpers);
        }

        /**
         * Claims a helper slot; false once enough workers have joined or the caller has stopped waiting for
         * more. Counted as running first, so the caller never returns while a worker may still claim a chunk.
         */
        boolean join() {
            helpersRunning.incrementAndGet();
            if (helperSlots.getAndDecrement() <= 0) {
                leave();
                return false;
            }
            return true;
        }

        void leave() {
            if (helpersRunning.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }

        void work() {
            try {
                for (int c = nextChunk.getAndIncrement(); c < chunks; c = nextChunk.getAndIncrement()) {
                    long from = (long) c * grain;
                    body.run((int) from, (int) Math.min(n, from + grain));
                }
            } catch (Throwable t) {
                failure = t;
                nextChunk.set(chunks);  // stop handing out work
            }
        }

        /** Closes the job to late workers, then waits for the ones that joined. */
        void awaitHelpers() {
            helperSlots.set(Integer.MIN_VALUE / 2);
            long start = System.nanoTime();
            while (helpersRunning.get() != 0) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }

        void rethrow() {
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }
    }

    private final class Worker implements Runnable {
        Thread thread;

        @Override
        public void run() {
            Job last = null;
            long idleSince = System.nanoTime();
            while (!closed) {
                Job job = current;
                if (job != null && job != last) {
                    last = job;
                    if (job.join()) {
                        job.work();
                        job.leave();
                    }
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
        }
    }
}
