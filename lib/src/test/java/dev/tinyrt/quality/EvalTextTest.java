package dev.tinyrt.quality;

import dev.tinyrt.tokenizer.LlamaTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class EvalTextTest {
    @TempDir
    Path tmp;

    @Test
    void documentsSplitAsTheTrainingScriptSplitsThem() {
        String text = "First doc.\nLine two.\n\n<|endoftext|>\n\n\n\n<|endoftext|>\n\nSecond doc.\n\n";
        assertEquals(List.of("First doc.\nLine two.", "Second doc."), EvalText.documents(text));
        assertEquals(List.of("Just one document."), EvalText.documents("Just one document.\n"));
        assertEquals(List.of(), EvalText.documents("\n\n"));
    }

    @Test
    void everyDocumentIsWrappedInBosAndEos() throws IOException {
        Path file = tmp.resolve("t.txt");
        Files.writeString(file, "Hello world\n\n<|endoftext|>\n\nThe capital of France is\n");
        try (LlamaTokenizer tok = LlamaTokenizer.load(Path.of("../data/tokenizer"))) {
            // ground truth ids of the Llama-2 tokenizer: "Hello world" -> 15043 3186, etc.
            assertArrayEquals(new int[]{1, 15043, 3186, 2, 1, 450, 7483, 310, 3444, 338, 2},
                    EvalText.tokenize(file, tok));
        }
    }
}
