package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DatasetsTest {
    @TempDir Path tmp;

    @Test
    void writesTrtllmBenchLinesAndReadsThemBack() throws Exception {
        List<BenchRequest> reqs = new TokenNormDist(5, 6, 2, 4, 1, 1, 20, 20, 100, Set.of(0, 1, 2), 3).generate();
        Path f = tmp.resolve("d.jsonl");
        Datasets.write(f, reqs);
        assertEquals(reqs, Datasets.read(f, null));
        String first = Files.readAllLines(f).getFirst();
        assertTrue(first.matches("\\{\"task_id\":0,\"input_ids\":\\[[0-9,]+],\"output_tokens\":[0-9]+}"), first);
    }

    @Test
    void badLinesAreReportedWithTheirLineNumber() throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"task_id\":0,\"input_ids\":[5,6],\"output_tokens\":3}\n\n{\"input_ids\":[5]}\n");
        var e = assertThrows(TinyrtException.class, () -> Datasets.read(f, null));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("output_tokens"), e.getMessage());
        Files.writeString(f, "{\"prompt\":\"hello\",\"output_tokens\":3}\n");
        e = assertThrows(TinyrtException.class, () -> Datasets.read(f, null));
        assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
        Files.writeString(f, "{\"input_ids\":[5,-1],\"output_tokens\":3}\n");
        e = assertThrows(TinyrtException.class, () -> Datasets.read(f, null));
        assertTrue(e.getMessage().contains("input_ids[1]"), e.getMessage());
        Files.writeString(f, "not json\n");
        assertThrows(TinyrtException.class, () -> Datasets.read(f, null));
    }
}
