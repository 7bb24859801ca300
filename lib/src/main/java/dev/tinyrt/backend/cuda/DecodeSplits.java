package dev.tinyrt.backend.cuda;

/**
 * How the split-K decode attention divides a sequence's keys: {@code count} splits of {@code length} keys, chosen
 * from the step's block-table capacity (not the actual lengths, so a recorded graph stays valid as sequences grow).
 * A split is one tile of the kernel (every thread's loads in flight at once: {@code 4 * 128 / (headDim / 8)} keys)
 * for up to 64 splits, several tiles beyond.
 */
record DecodeSplits(int length, int count) {
    static final int MAX_COUNT = 64;
    static final int KEYS_PER_THREAD = 4;
    static final int THREADS = 128;

    /** Keys of one tile of the decode kernel for this head dimension (DECODE_TILE in attention.cuh). */
    static int tile(int headDim) {
        return KEYS_PER_THREAD * THREADS / (headDim / 8);
    }

    static DecodeSplits forCapacity(int capacity, int headDim) {
        int tile = tile(headDim);
        int length = tile * Math.max(1, ceilDiv(capacity, tile * MAX_COUNT));
        return new DecodeSplits(length, ceilDiv(capacity, length));
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
