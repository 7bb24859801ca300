package dev.tinyrt.report;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReadmeUpToDateTest {
    private static final Path ROOT = Path.of("..");

    /** Every table in the README is exactly what data/results generates: no figure is typed by hand. */
    @Test
    void readmeTablesAreRegeneratedFromCommittedResults() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        String regenerated = GeneratedSections.apply(readme, ResultTables.all(ROOT.resolve("data/results")));
        assertEquals(regenerated, readme, "README.md is stale: run jbang jbang-scripts/report.java");
        assertTrue(readme.contains("<!-- BEGIN generated:hf-parity -->"));
    }

    @Test
    void sectionsAreReplacedAndUnknownNamesRejected() {
        String doc = "a\n<!-- BEGIN generated:x -->\nold\n<!-- END generated:x -->\nb\n";
        assertEquals("a\n<!-- BEGIN generated:x -->\nnew\n<!-- END generated:x -->\nb\n",
                GeneratedSections.apply(doc, Map.of("x", "new")));
        assertThrows(TinyrtException.class, () -> GeneratedSections.apply(doc, Map.of("y", "z")));
    }
}
