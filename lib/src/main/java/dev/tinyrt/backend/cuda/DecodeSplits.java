package dev.tinyrt.backend.cuda;

/**
 * How the split-K decode attention divides a sequence's keys: {@code count} splits of {@code length} keys, chosen
 * from the step's block-table capacity (not the actual lengths, so a recorded graph stays valid as sequences grow).
 * A split is one tile of the kernel (every thread's loads in flight at once: {@code 4 * threads / (headDim / 8)}
 * keys, threads 128, or 512 for the wide kernel) for up to 64 splits, several tiles beyond.
 */
record DecodeSplits(int length, int count) {
    static final int MAX_COUNT = 64;
    static final int KEYS_PER_THREAD = 4;
    static final int THREADS = 128;

    /** Keys of one tile of the 128-thread decode kernel for this head dimension (DECODE_TILE in attention.cuh). */
    static int tile(int headDim) {
        return tile(headDim, THREADS);
    }

    /** Keys of one tile of a decode kernel of {@code threads} threads. */
    static int tile(int headDim, int threads) {
        return KEYS_PER_THREAD * threads / (headDim / 8);
    }

    static DecodeSplits forCapacity(int capacity, int headDim) {
        return forCapacity(capacity, headDim, THREADS);
    }

    static DecodeSplits forCapacity(int capacity, int headDim, int threads) {
        int tile = tile(headDim, threads);
        int length = tile * Math.max(1, ceilDiv(capacity, tile * MAX_COUNT));
        return new DecodeSplits(length, ceilDiv(capacity, length));
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
