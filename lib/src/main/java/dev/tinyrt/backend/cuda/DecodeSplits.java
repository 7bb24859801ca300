package dev.tinyrt.backend.cuda;

/**
 * How the split-K decode attention divides a sequence's keys: {@code count} splits of {@code length} keys, chosen
 * from the step's block-table capacity (not the actual lengths, so a recorded graph stays valid as sequences grow):
 * 64-key splits up to 64 splits, longer splits beyond, within the 48 KB of shared memory a block may use.
 */
record DecodeSplits(int length, int count, int sharedBytes) {
    static final int MIN_LENGTH = 64;
    static final int MAX_COUNT = 64;
    static final int SHARED_LIMIT = 48 * 1024;
    static final int WARPS = 4;

    static DecodeSplits forCapacity(int capacity, int headsPerBlock, int headDim) {
        int length = MIN_LENGTH;
        if (ceilDiv(capacity, length) > MAX_COUNT) {
            length = ceilDiv(ceilDiv(capacity, MAX_COUNT), 32) * 32;
        }
        int shared = sharedBytes(length, headsPerBlock, headDim);
        if (shared > SHARED_LIMIT) {
            throw new UnsupportedOperationException("a " + capacity + "-token context needs " + shared
                    + " bytes of shared memory in the CUDA decode attention (limit " + SHARED_LIMIT + ")");
        }
        return new DecodeSplits(length, ceilDiv(capacity, length), shared);
    }

    static int sharedBytes(int length, int headsPerBlock, int headDim) {
        return 4 * (headsPerBlock * length + WARPS * headsPerBlock * headDim + 2 * headsPerBlock);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
