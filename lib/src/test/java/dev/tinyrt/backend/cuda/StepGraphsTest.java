package dev.tinyrt.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepGraphsTest {
    /** Records the work's label as the "graph"; replays and destructions are logged. */
    private static final class FakeRecorder implements StepGraphs.Recorder<String> {
        final List<String> log = new ArrayList<>();
        boolean failNext;

        @Override
        public String record(Runnable work) {
            if (failNext) {
                failNext = false;
                throw new IllegalStateException("cannot capture");
            }
            log.add("record");
            work.run();
            return "graph" + log.size();
        }

        @Override
        public void replay(String graph) {
            log.add("replay " + graph);
        }

        @Override
        public void destroy(String graph) {
            log.add("destroy " + graph);
        }
    }

    private final FakeRecorder recorder = new FakeRecorder();
    private final StepGraphs<String> graphs = new StepGraphs<>(recorder, 2);
    private final List<String> ran = new ArrayList<>();

    private void step(String key) {
        graphs.run(key, () -> ran.add(key));
    }

    @Test
    void recordsOnTheSecondSightingAndReplaysAfterwards() {
        step("decode");
        assertEquals(List.of("decode"), ran, "first sighting runs eagerly");
        assertEquals(List.of(), recorder.log);
        step("decode");
        step("decode");
        assertEquals(List.of("record", "replay graph1", "replay graph1"), recorder.log);
        assertEquals(1, graphs.recorded());
        assertEquals(2, graphs.replayed());
        assertEquals(1, graphs.eager());
    }

    @Test
    void evictsTheLeastRecentlyUsedGraphBeyondCapacity() {
        for (String k : new String[]{"a", "a", "b", "b", "a", "c", "c"}) {
            step(k);
        }
        assertEquals(2, graphs.size());
        assertTrue(recorder.log.contains("destroy graph3"), recorder.log.toString());  // b's graph, least recently used
    }

    @Test
    void invalidationDropsGraphsAndTheNextStepRecordsAgain() {
        step("k");
        step("k");
        graphs.invalidate();
        assertEquals(0, graphs.size());
        step("k");
        assertEquals(List.of("record", "replay graph1", "destroy graph1", "record", "replay graph4"), recorder.log);
    }

    @Test
    void aKeyThatCannotBeRecordedRunsEagerlyFromThenOn() {
        step("x");
        recorder.failNext = true;
        step("x");
        step("x");
        assertEquals(List.of("x", "x", "x"), ran);
        assertEquals(0, graphs.recorded());
        assertNotNull(graphs.firstFailure());
    }

    @Test
    void disabledGraphsRunEverythingEagerly() {
        graphs.setEnabled(false);
        step("k");
        step("k");
        step("k");
        assertEquals(3, ran.size());
        assertEquals(List.of(), recorder.log);
    }
}
