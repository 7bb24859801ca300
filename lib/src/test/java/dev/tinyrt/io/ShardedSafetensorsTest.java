package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardedSafetensorsTest {
    @TempDir
    Path dir;

    private Path twoShards(String weightMap) throws IOException {
        new SafetensorsWriter().metadata("format", "pt")
                .addFloats("model.layers.0.w", DType.F32, new long[]{2}, new float[]{1, 2})
                .addFloats("lm_head", DType.BF16, new long[]{1, 2}, new float[]{3, 4})
                .write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().metadata("format", "pt").metadata("shard", "2")
                .add("embed", DType.U8, new long[]{3}, MemorySegment.ofArray(new byte[]{7, 8, 9}))
                .add("not in index", DType.U8, new long[]{1}, MemorySegment.ofArray(new byte[]{1}))
                .write(dir.resolve("model-00002-of-00002.safetensors"));
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"metadata\": {\"total_size\": 15, \"format\": \"index wins\"},\n \"weight_map\": {"
                + weightMap + "}}");
        return index;
    }

    private static final String FULL_MAP = "\"model.layers.0.w\": \"model-00001-of-00002.safetensors\","
            + "\"embed\": \"model-00002-of-00002.safetensors\", \"lm_head\": \"model-00001-of-00002.safetensors\"";

    @Test
    void opensAcrossTwoShards() throws IOException {
        Path index = twoShards(FULL_MAP);
        try (ShardedSafetensors st = ShardedSafetensors.open(index)) {
            assertEquals(List.of("embed", "lm_head", "model.layers.0.w"), st.names());
            assertEquals(index, st.path());
            assertArrayEquals(new float[]{1, 2}, st.toFloats("model.layers.0.w"));
            assertArrayEquals(new float[]{3, 4}, st.toFloats("lm_head"));
            assertArrayEquals(new byte[]{7, 8, 9}, st.data("embed").toArray(ValueLayout.JAVA_BYTE));
            assertEquals(new TensorInfo("embed", DType.U8, new long[]{3}, 0, 3), st.info("embed"));
            assertEquals("model-00002-of-00002.safetensors", st.shardPath("embed").getFileName().toString());
            assertEquals(2, st.shardPaths().size());
            assertEquals(Map.of("format", "index wins", "shard", "2", "total_size", "15"), st.metadata());
            assertTrue(!st.contains("not in index"));
            TinyrtException e = assertThrows(TinyrtException.class, () -> st.info("not in index"));
            assertTrue(e.getMessage().contains(index.toString()), e.getMessage());
        }
    }

    @Test
    void closeUnmapsEveryShard() throws IOException {
        ShardedSafetensors st = ShardedSafetensors.open(twoShards(FULL_MAP));
        MemorySegment first = st.data("lm_head");
        MemorySegment second = st.data("embed");
        st.close();
        assertThrows(IllegalStateException.class, () -> first.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> second.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> st.data("model.layers.0.w"));
        st.close(); // idempotent
    }

    @Test
    void indexNamingATensorItsShardLacks() throws IOException {
        Path index = twoShards(FULL_MAP + ", \"ghost\": \"model-00002-of-00002.safetensors\"");
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                () -> ShardedSafetensors.open(index));
        assertTrue(e.getMessage().contains("'ghost'") && e.getMessage().contains("model-00002-of-00002"),
                e.getMessage());
    }

    @Test
    void missingShardIsAUserErrorNamingIt() throws IOException {
        Path index = twoShards(FULL_MAP + ", \"x\": \"model-00003-of-00003.safetensors\"");
        TinyrtException e = assertThrows(TinyrtException.class, () -> ShardedSafetensors.open(index));
        assertTrue(e.getMessage().contains("model-00003-of-00003.safetensors"), e.getMessage());
    }

    @Test
    void shardPathsMayNotLeaveTheFolder() throws IOException {
        for (String bad : List.of("../model-00001-of-00002.safetensors", "/etc/passwd", "", ".")) {
            Path index = twoShards("\"embed\": \"" + bad + "\"");
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                    () -> ShardedSafetensors.open(index), bad);
            assertTrue(e.getMessage().contains("not a file inside"), e.getMessage());
        }
    }

    @Test
    void malformedIndexes() throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        for (String json : List.of("[]", "{}", "{\"weight_map\": []}", "{\"weight_map\": {\"a\": 1}}",
                "{\"weight_map\": {\"a\": \"x\", \"a\": \"y\"}}", "{\"weight_map\": {}, \"metadata\": 3}", "{",
                "{\"weight_map\":" + "[".repeat(10_000) + "}")) {
            Files.writeString(index, json);
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class,
                    () -> ShardedSafetensors.open(index), json);
            assertTrue(e.getMessage().startsWith(index.toString()), e.getMessage());
        }
    }

    @Test
    void writeShardedSplitsByBytesAndReadsBack() {
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        for (int i = 0; i < 5; i++) {
            writer.addFloats("t" + i, DType.F32, new long[]{4}, new float[]{i, i, i, i}); // 16 bytes each
        }
        writer.addFloats("big", DType.F32, new long[]{10}, new float[10]); // 40 bytes: alone in its shard
        Path out = dir.resolve("sharded");
        SafetensorsWriter.writeSharded(writer, out, 32);

        try (TensorSource st = Checkpoints.open(out)) {
            ShardedSafetensors sharded = (ShardedSafetensors) st;
            assertEquals(List.of("big", "t0", "t1", "t2", "t3", "t4"), st.names());
            assertEquals(4, sharded.shardPaths().size()); // [t0,t1] [t2,t3] [t4] [big]
            assertEquals("model-00001-of-00004.safetensors", sharded.shardPath("t1").getFileName().toString());
            assertEquals("model-00004-of-00004.safetensors", sharded.shardPath("big").getFileName().toString());
            assertEquals(Map.of("format", "pt", "total_size", "120"), st.metadata());
            assertArrayEquals(new float[]{3, 3, 3, 3}, st.toFloats("t3"));
        }
    }
}
