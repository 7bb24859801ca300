package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointsTest {
    @TempDir
    Path dir;

    /** A one-tensor file whose only tensor is named after the file, so the test can tell which one was opened. */
    private void file(String name) {
        new SafetensorsWriter().addFloats(name, DType.F32, new long[]{1}, new float[]{1}).write(dir.resolve(name));
    }

    private String opened() {
        try (TensorSource st = Checkpoints.open(dir)) {
            return st.names().getFirst();
        }
    }

    @Test
    void lookupOrderInAFolder() throws IOException {
        file("other.safetensors");
        assertEquals("other.safetensors", opened()); // the single *.safetensors
        file("rank0.safetensors");
        assertEquals("rank0.safetensors", opened());
        file("model.safetensors");
        assertEquals("model.safetensors", opened());
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"rank0.safetensors\": \"rank0.safetensors\"}}");
        try (TensorSource st = Checkpoints.open(dir)) {
            assertInstanceOf(ShardedSafetensors.class, st);
            assertEquals(dir.resolve("model.safetensors.index.json"), st.path());
        }
    }

    @Test
    void filesOpenDirectly() throws IOException {
        file("x.safetensors");
        try (TensorSource st = Checkpoints.open(dir.resolve("x.safetensors"))) {
            assertInstanceOf(SafetensorsFile.class, st);
        }
        Files.writeString(dir.resolve("custom.index.json"), "{\"weight_map\": {\"x.safetensors\": \"x.safetensors\"}}");
        try (TensorSource st = Checkpoints.open(dir.resolve("custom.index.json"))) {
            assertInstanceOf(ShardedSafetensors.class, st);
        }
    }

    @Test
    void emptyFolderErrorListsWhatWasLookedFor() {
        TinyrtException e = assertThrows(TinyrtException.class, () -> Checkpoints.open(dir));
        for (String expected : new String[]{dir.toString(), "model.safetensors.index.json", "model.safetensors",
                "rank0.safetensors", "a single *.safetensors"}) {
            assertTrue(e.getMessage().contains(expected), e.getMessage());
        }
    }

    @Test
    void severalCandidatesWithoutIndexAreAmbiguous() {
        file("a.safetensors");
        file("b.safetensors");
        TinyrtException e = assertThrows(TinyrtException.class, () -> Checkpoints.open(dir));
        assertTrue(e.getMessage().contains("a.safetensors, b.safetensors"), e.getMessage());
    }

    @Test
    void missingPath() {
        Path missing = dir.resolve("nope");
        TinyrtException e = assertThrows(TinyrtException.class, () -> Checkpoints.open(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }
}
