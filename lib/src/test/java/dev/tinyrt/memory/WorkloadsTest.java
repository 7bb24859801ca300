package dev.tinyrt.memory;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkloadsTest {
    @TempDir
    Path tmp;

    @Test
    void lognormalMixIsSeededClippedAndShapedLikeShareGpt() {
        Workload a = Workloads.lognormal(Workloads.Lognormal.SHAREGPT, 4000, 5, 2048, 32000);
        Workload b = Workloads.lognormal(Workloads.Lognormal.SHAREGPT, 4000, 5, 2048, 32000);
        for (int i = 0; i < 4000; i++) {
            assertArrayEquals(a.requests().get(i).promptIds(), b.requests().get(i).promptIds());
            assertEquals(a.requests().get(i).outputTokens(), b.requests().get(i).outputTokens());
        }
        assertTrue(a.longest() <= 2048);
        int[] in = a.requests().stream().mapToInt(r -> r.promptIds().length).sorted().toArray();
        int[] out = a.requests().stream().mapToInt(Workload.Request::outputTokens).sorted().toArray();
        assertEquals(98, in[2000], 6);   // medians as configured
        assertEquals(205, out[2000], 12);
        // ShareGPT's means (161 in, 338 out) before clipping; clipping to 2048 only trims the far tail
        assertEquals(161, Arrays.stream(in).average().orElseThrow(), 12);
        assertEquals(338, Arrays.stream(out).average().orElseThrow(), 25);
        assertTrue(a.requests().stream().allMatch(r -> r.promptIds()[0] == 1
                && Arrays.stream(r.promptIds()).skip(1).allMatch(id -> id >= 3 && id < 32000)));
    }

    @Test
    void systemPromptIsSharedAndLengthsStayInContext() {
        Workload base = Workloads.lognormal(Workloads.Lognormal.SHAREGPT.scaledTo(256), 50, 2, 256, 500);
        Workload w = Workloads.withSystemPrompt(base, 64, 9, 256, 500);
        int[] system = Arrays.copyOf(w.requests().getFirst().promptIds(), 64);
        for (Workload.Request r : w.requests()) {
            assertArrayEquals(system, Arrays.copyOf(r.promptIds(), 64));
            assertTrue(r.totalTokens() <= 256 && r.promptIds().length > 64, r.totalTokens() + "");
        }
        assertArrayEquals(system, Arrays.copyOf(WorkloadRunner.warmupPrompt(w), 64));
        assertEquals(64, WorkloadRunner.warmupPrompt(w).length);
        assertArrayEquals(new int[]{1}, WorkloadRunner.warmupPrompt(base));
    }

    @Test
    void datasetFilesRoundTripInTrtllmBenchFormat() throws Exception {
        Workload w = Workloads.fixed(7, 3, 5, 1, 100);
        Path file = tmp.resolve("d.jsonl");
        Workloads.write(w, file);
        assertTrue(Files.readAllLines(file).getFirst().startsWith("{\"task_id\":0,\"input_ids\":[1,"));
        Workload back = Workloads.read(file, 64, 100);
        assertEquals(5, back.requests().size());
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(w.requests().get(i).promptIds(), back.requests().get(i).promptIds());
            assertEquals(3, back.requests().get(i).outputTokens());
        }
    }

    @Test
    void badDatasetLinesAreNamed() throws Exception {
        Path file = tmp.resolve("bad.jsonl");
        Files.writeString(file, "{\"input_ids\":[1,2],\"output_tokens\":4}\n{\"input_ids\":[1,200],\"output_tokens\":4}\n");
        var e = assertThrows(TinyrtException.class, () -> Workloads.read(file, 64, 100));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("outside the vocabulary"),
                e.getMessage());
        Files.writeString(file, "{\"input_ids\":[1,2],\"output_tokens\":100}\n");
        e = assertThrows(TinyrtException.class, () -> Workloads.read(file, 64, 100));
        assertTrue(e.getMessage().contains("exceed max_seq_len 64"), e.getMessage());
        Files.writeString(file, "not json\n");
        e = assertThrows(TinyrtException.class, () -> Workloads.read(file, 64, 100));
        assertTrue(e.getMessage().contains("line 1: not JSON"), e.getMessage());
        assertThrows(TinyrtException.class, () -> Workloads.read(tmp.resolve("none.jsonl"), 64, 100));
    }
}
