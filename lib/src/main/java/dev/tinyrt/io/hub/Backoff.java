package dev.tinyrt.io.hub;

import java.io.IOException;
import java.time.Duration;

/** Exponential backoff between retries: base, 2x base, 4x base, ... capped at 8 seconds. */
final class Backoff {
    private static final long CAP_MS = 8_000;

    private Backoff() {
    }

    static long delayMillis(Duration base, int failures) {
        long ms = base.toMillis() << Math.min(failures - 1, 20);
        return Math.min(ms, CAP_MS);
    }

    static void sleep(Duration base, int failures, IOException cause) {
        try {
            Thread.sleep(delayMillis(base, failures));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(HubException.Kind.UNREACHABLE, "interrupted while waiting to retry after: "
                    + cause.getMessage(), cause);
        }
    }
}
