package dev.tinyrt.quant;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationTextTest {
    static final Path HOME = ProjectHome.require();
    static final Path CALIB = HOME.resolve("data/calibration/calib.txt");

    @Test
    void theCommittedTextHasEnoughLongPassagesAndNoEvaluationText() throws IOException {
        List<String> passages = CalibrationText.passages(CALIB);
        assertEquals(CalibrationText.DEFAULT_PASSAGES, passages.size());
        assertTrue(Files.size(CALIB) < 600_000);
        String validation = Files.readString(HOME.resolve("data/corpus/validation.txt"));
        for (String p : passages) {
            for (String line : p.split("\n")) {
                // short lines (headings, "Book 3") recur everywhere; a sentence-length line must not come from validation
                assertFalse(line.length() > 80 && validation.contains(line), "validation text in calib.txt: " + line);
            }
        }
        try (LlamaTokenizer tok = LlamaTokenizer.loadDefault()) {
            List<int[]> samples = CalibrationText.samples(CALIB, tok, 128, 512);
            assertEquals(128, samples.size());
            for (int[] s : samples) {
                assertEquals(512, s.length);
                assertEquals(tok.bosId(), s[0]);
            }
        }
    }

    @Test
    void extractionIsDeterministicAndReproducesTheCommittedFile() throws IOException {
        String tiny = "a b c\n\n<|endoftext|>\n\nline two is here\nthree\n";
        assertEquals(CalibrationText.extract(tiny, 2, 5), CalibrationText.extract(tiny, 2, 5));
        // a line that would overrun 1.25 x chars is cut at a space; blank lines and separators are skipped
        assertEquals("a b c\nline" + CalibrationText.SEPARATOR + "line two\n",
                CalibrationText.extract(tiny, 2, 8));
        Path train = HOME.resolve("data/corpus/train.txt");
        Assumptions.assumeTrue(Files.isRegularFile(train), "the training split is git-ignored; build it with "
                + "python3 environment/build_corpus.py to check calib.txt against it");
        String expected = CalibrationText.extract(Files.readString(train), CalibrationText.DEFAULT_PASSAGES,
                CalibrationText.DEFAULT_PASSAGE_CHARS);
        assertEquals(expected, Files.readString(CALIB), "calib.txt is exactly what --write-calibration-text makes");
    }
}
