package dev.tinyrt.runtime;

import java.util.List;

/**
 * Watches generated text for stop strings. Text that could still turn out to be the start of a stop string is
 * held back, so a streaming consumer never sees any part of a stop string.
 */
final class StopStringFilter {
    private final List<String> stops;
    private final int longest;
    private final StringBuilder text = new StringBuilder();
    private int released;
    private boolean stopped;

    StopStringFilter(List<String> stops) {
        this.stops = stops;
        this.longest = stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Adds newly decoded text; returns the part that is now safe to show. */
    String push(String piece) {
        if (stopped) {
            return "";
        }
        text.append(piece);
        if (stops.isEmpty()) {  // nothing to watch for (the executor's hot path): all of it is safe
            released = text.length();
            return piece;
        }
        int from = Math.max(0, released - longest + 1);
        int hit = -1;
        for (String stop : stops) {
            int i = text.indexOf(stop, from);
            if (i >= 0 && (hit < 0 || i < hit)) {
                hit = i;
            }
        }
        if (hit >= 0) {
            stopped = true;
            text.setLength(hit);
            return release(hit);
        }
        return release(text.length() - heldBack());
    }

    /** Length of the longest suffix of the text that is a proper prefix of some stop string. */
    private int heldBack() {
        int best = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length() - released); k > best; k--) {
                if (text.substring(text.length() - k).equals(stop.substring(0, k))) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private String release(int upTo) {
        if (upTo <= released) {
            return "";
        }
        String out = text.substring(released, upTo);
        released = upTo;
        return out;
    }

    /** Releases whatever was held back (generation ended for another reason). */
    String flush() {
        return release(text.length());
    }

    boolean stopped() {
        return stopped;
    }

    /** All text so far, cut before the stop string if one was found. */
    String text() {
        return text.toString();
    }
}
