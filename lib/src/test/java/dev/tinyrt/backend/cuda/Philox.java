package dev.tinyrt.backend.cuda;

/**
 * Philox-4x32-10 in Java, as sampling.cuh computes it: for tests that predict the GPU sampler's draws exactly.
 */
final class Philox {
    private Philox() {
    }

    static int[] block(int[] counter, int key0, int key1) {
        int[] c = counter.clone();
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                key0 += 0x9E3779B9;
                key1 += 0xBB67AE85;
            }
            long p0 = 0xD2511F53L * Integer.toUnsignedLong(c[0]);
            long p1 = 0xCD9E8D57L * Integer.toUnsignedLong(c[2]);
            c = new int[]{(int) (p1 >>> 32) ^ c[1] ^ key0, (int) p1, (int) (p0 >>> 32) ^ c[3] ^ key1, (int) p0};
        }
        return c;
    }

    /** The kernel's uniform double in [0, 1) for a row's seed and step. */
    static double uniform(long seed, long step) {
        int[] c = block(new int[]{(int) step, (int) (step >>> 32), 0, 0}, (int) seed, (int) (seed >>> 32));
        return ((c[0] >>> 5) * 67108864.0 + (c[1] >>> 6)) / 9007199254740992.0;
    }
}
