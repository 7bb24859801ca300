package dev.tinyrt.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopStringFilterTest {
    @Test
    void holdsBackAPossibleStopStringAndCutsBeforeIt() {
        StopStringFilter f = new StopStringFilter(List.of("\n\nUser:"));
        StringBuilder shown = new StringBuilder();
        for (String piece : new String[]{"Hello", " there", "\n", "\nUs", "er", ": more"}) {
            shown.append(f.push(piece));
        }
        assertTrue(f.stopped());
        assertEquals("Hello there", shown.toString());
        assertEquals("Hello there", f.text());
    }

    @Test
    void releasesHeldTextWhenItTurnsOutNotToBeAStop() {
        StopStringFilter f = new StopStringFilter(List.of("END"));
        assertEquals("ab", f.push("abE"));
        assertEquals("", f.push("N"));
        assertEquals("ENx", f.push("x"));
        assertEquals("", f.push("EN"));
        assertEquals("EN", f.flush());
        assertFalse(f.stopped());
        assertEquals("abENxEN", f.text());
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopStringFilter f = new StopStringFilter(List.of("xyz", "b"));
        assertEquals("a", f.push("abxyz"));
        assertEquals("a", f.text());
    }

    @Test
    void noStopsPassesEverythingThrough() {
        StopStringFilter f = new StopStringFilter(List.of());
        assertEquals("abc", f.push("abc"));
        assertEquals("", f.flush());
    }
}
