package dev.tinyrt.quality;

import java.util.Arrays;

/**
 * Anything that turns a token window into next-token logits: a loaded model (see {@link ModelLogitSource}), later a
 * GPU engine or a quantized checkpoint, or fixed arrays in tests.
 */
@FunctionalInterface
public interface LogitSource extends AutoCloseable {
    /** Next-token logits at every position of {@code ids}, {@code [ids.length][vocab]}, starting from an empty cache. */
    float[][] logits(int[] ids);

    /**
     * The logits of positions {@code fromRow .. toRow-1} only. Sources that can skip the unwanted rows' output
     * projection override this; the default computes all rows and slices.
     */
    default float[][] logits(int[] ids, int fromRow, int toRow) {
        return Arrays.copyOfRange(logits(ids), fromRow, toRow);
    }

    /** The longest window this source accepts (its model's context length). */
    default int contextLength() {
        return Integer.MAX_VALUE;
    }

    @Override
    default void close() {
    }
}
