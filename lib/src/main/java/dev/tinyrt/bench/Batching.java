package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;

import java.util.Locale;

/** How requests share the engine during a point. */
public enum Batching {
    /** Requests join and leave the running batch between steps; {@code concurrency} requests are kept in flight. */
    INFLIGHT,
    /** Waves of {@code concurrency} requests: the next wave starts only after every request of the last finished. */
    STATIC;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Batching parse(String text) {
        for (Batching b : values()) {
            if (b.label().equalsIgnoreCase(text.strip())) {
                return b;
            }
        }
        throw new TinyrtException("unknown batching \"" + text + "\"; choose inflight or static");
    }
}
