package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.tinyrt.io.SafetensorsBytes.concat;
import static dev.tinyrt.io.SafetensorsBytes.f32;
import static dev.tinyrt.io.SafetensorsBytes.i16;
import static dev.tinyrt.io.SafetensorsBytes.i32;
import static dev.tinyrt.io.SafetensorsBytes.i64;
import static dev.tinyrt.io.SafetensorsBytes.spaces;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static byte[] bytes(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

    private record Spec(DType dtype, long[] shape) {
    }

    @Test
    void everyDtypeRoundTripsByteForByteWithMetadataScalarAndEmpty() throws IOException {
        Map<String, Spec> specs = new LinkedHashMap<>();
        specs.put("w.f32", new Spec(DType.F32, new long[]{2, 3}));
        specs.put("w.f16", new Spec(DType.F16, new long[]{5}));
        specs.put("w.bf16", new Spec(DType.BF16, new long[]{2, 2, 2}));
        specs.put("w.i8", new Spec(DType.I8, new long[]{7}));
        specs.put("w.u8", new Spec(DType.U8, new long[]{3, 1}));
        specs.put("w.i32", new Spec(DType.I32, new long[]{4}));
        specs.put("w.i64", new Spec(DType.I64, new long[]{2}));
        specs.put("w.fp8", new Spec(DType.F8_E4M3, new long[]{3, 3}));
        specs.put("scalar", new Spec(DType.F32, new long[]{}));
        specs.put("empty", new Spec(DType.F16, new long[]{0, 4}));
        specs.put("zzz last but added after empty", new Spec(DType.U8, new long[]{1}));

        Random random = new Random(7);
        Map<String, byte[]> contents = new LinkedHashMap<>();
        SafetensorsWriter writer = new SafetensorsWriter()
                .metadata("format", "pt")
                .metadata("note", "ünïcode ✓ \"quoted\"");
        for (var e : specs.entrySet()) {
            byte[] data = new byte[(int) TensorInfo.byteLengthOf(e.getValue().dtype, e.getValue().shape)];
            random.nextBytes(data);
            contents.put(e.getKey(), data);
            writer.add(e.getKey(), e.getValue().dtype, e.getValue().shape, MemorySegment.ofArray(data));
        }
        Path file = dir.resolve("all.safetensors");
        writer.write(file);
        assertFalse(Files.exists(dir.resolve("all.safetensors.tmp")));

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.copyOf(specs.keySet()), st.names());
            assertEquals(Map.of("format", "pt", "note", "ünïcode ✓ \"quoted\""), st.metadata());
            long offset = 0;
            for (var e : specs.entrySet()) {
                TensorInfo info = st.info(e.getKey());
                assertEquals(e.getValue().dtype, info.dtype());
                assertArrayEquals(e.getValue().shape, info.shape());
                assertEquals(offset, info.byteOffset());
                assertArrayEquals(contents.get(e.getKey()), bytes(st.data(e.getKey())), e.getKey());
                offset += info.byteLength();
            }
            assertEquals(1, st.info("scalar").numel());
            assertEquals(0, st.info("empty").numel());
            assertEquals(0, st.data("empty").byteSize());
            assertTrue(st.data("w.f32").isReadOnly());
        }

        byte[] raw = Files.readAllBytes(file);
        long headerLength = java.nio.ByteBuffer.wrap(raw, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes");
        String header = new String(raw, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\""), header);
        assertEquals(8 + headerLength + contents.values().stream().mapToInt(b -> b.length).sum(), raw.length);
    }

    /** Expected bytes are those the Rust safetensors crate's own unit tests assert for its serializer. */
    @Test
    void writerOutputMatchesTheRustCrateByteForByte() throws IOException {
        Path empty = dir.resolve("empty.safetensors");
        new SafetensorsWriter().write(empty);
        assertArrayEquals(SafetensorsBytes.file("{}      ", new byte[0]), Files.readAllBytes(empty));

        Path withMetadata = dir.resolve("meta.safetensors");
        new SafetensorsWriter().metadata("framework", "pt").write(withMetadata);
        assertArrayEquals(SafetensorsBytes.file("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new byte[0]),
                Files.readAllBytes(withMetadata));

        float[] values = {0, 1, 2, 3, 4, 5};
        Path attn = dir.resolve("attn.safetensors");
        new SafetensorsWriter().addFloats("attn.0", DType.F32, new long[]{1, 2, 3}, values).write(attn);
        assertArrayEquals(SafetensorsBytes.file(
                        "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", f32(values)),
                Files.readAllBytes(attn)); // 64-byte header: no padding needed

        Path aligned = dir.resolve("aligned.safetensors");
        new SafetensorsWriter().addFloats("attn0", DType.F32, new long[]{1, 1, 2, 3}, values).write(aligned);
        assertArrayEquals(SafetensorsBytes.file(
                        "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                        f32(values)),
                Files.readAllBytes(aligned));
    }

    /** A file laid out as the Python package writes it, crafted by hand: header in any key order. */
    @Test
    void readsHandCraftedPythonLayout() throws IOException {
        String header = "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                + "\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[12,20]}}";
        byte[] data = concat(f32(1.5f, -2f), i16(0x3C00, 0x7BFF), i64(-3));
        Path file = dir.resolve("py.safetensors");
        Files.write(file, SafetensorsBytes.file(concat(header.getBytes(StandardCharsets.UTF_8), spaces(3)), data));

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("a", "b", "c"), st.names()); // data order, not header order
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertArrayEquals(new float[]{1.5f, -2f}, st.toFloats("a"));
            assertArrayEquals(new float[]{1f, 65504f}, st.toFloats("b"));
            assertArrayEquals(new float[]{-3f}, st.toFloats("c"));
            assertEquals(8 + header.length() + 3, st.dataStart());
            assertEquals(new TensorInfo("b", DType.F16, new long[]{2}, 8, 4), st.info("b"));
        }
    }

    @Test
    void headerWithoutMetadataOrPaddingAndNullMetadata() throws IOException {
        Path file = dir.resolve("plain.safetensors");
        Files.write(file, SafetensorsBytes.file(
                "{\"__metadata__\":null,\"x\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}",
                new byte[]{1, 2, (byte) 255}));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(Map.of(), st.metadata());
            assertArrayEquals(new float[]{1, 2, 255}, st.toFloats("x"));
        }
    }

    @Test
    void toFloatsConvertsEveryDtype() throws IOException {
        float[] values = {0f, 1f, -2.5f, 448f, 0x1p-9f, 3.140625f};
        SafetensorsWriter writer = new SafetensorsWriter();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F8_E4M3)) {
            writer.addFloats(d.name(), d, new long[]{2, 3}, values);
        }
        writer.add("I8", DType.I8, new long[]{3}, MemorySegment.ofArray(new byte[]{-128, 0, 127}));
        writer.add("U8", DType.U8, new long[]{3}, MemorySegment.ofArray(new byte[]{0, (byte) 128, (byte) 255}));
        writer.add("I32", DType.I32, new long[]{3}, MemorySegment.ofArray(i32(-7, 0, 1 << 20)));
        writer.add("I64 small", DType.I64, new long[]{2}, MemorySegment.ofArray(i64(-(1L << 24), 1L << 24)));
        writer.add("I64 large", DType.I64, new long[]{2}, MemorySegment.ofArray(i64(1, (1L << 24) + 1)));
        Path file = dir.resolve("floats.safetensors");
        writer.write(file);

        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(values, st.toFloats("F32"));
            assertArrayEquals(values, st.toFloats("F16")); // all exact in f16
            float[] bf16 = st.toFloats("BF16");
            for (int i = 0; i < values.length; i++) {
                assertEquals(Numerics.bf16ToFloat(Numerics.floatToBf16(values[i])), bf16[i]);
            }
            assertEquals(3.140625f, bf16[5]); // 0x4049 exactly
            float[] fp8 = st.toFloats("F8_E4M3");
            assertArrayEquals(new float[]{0f, 1f, -2.5f, 448f, 0x1p-9f, 3.25f}, fp8);
            assertArrayEquals(new float[]{-128, 0, 127}, st.toFloats("I8"));
            assertArrayEquals(new float[]{0, 128, 255}, st.toFloats("U8"));
            assertArrayEquals(new float[]{-7, 0, 1 << 20}, st.toFloats("I32"));
            assertArrayEquals(new float[]{-(1 << 24), 1 << 24}, st.toFloats("I64 small"));
            TinyrtException e = assertThrows(TinyrtException.class, () -> st.toFloats("I64 large"));
            assertTrue(e.getMessage().contains("I64 large") && e.getMessage().contains("16777217"), e.getMessage());
            // the fp8 bytes are the expected encodings
            assertArrayEquals(new byte[]{0x00, 0x38, (byte) 0xC2, 0x7E, 0x01, 0x45}, bytes(st.data("F8_E4M3")));
        }
    }

    @Test
    void closingReleasesTheMapping() throws IOException {
        Path file = dir.resolve("c.safetensors");
        new SafetensorsWriter().addFloats("x", DType.F32, new long[]{2}, new float[]{1, 2}).write(file);
        SafetensorsFile st = SafetensorsFile.open(file);
        MemorySegment before = st.data("x");
        assertEquals(2f, before.getAtIndex(FloatDecoding.F32_LE, 1));
        st.close();
        assertFalse(before.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> before.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> st.data("x"));
        assertThrows(IllegalStateException.class, () -> st.toFloats("x"));
        st.close(); // idempotent
        assertEquals(List.of("x"), st.names()); // header facts stay available
    }

    @Test
    void unknownTensorNamesTheFileAndTensor() throws IOException {
        Path file = dir.resolve("u.safetensors");
        new SafetensorsWriter().addFloats("x", DType.F32, new long[]{1}, new float[]{1}).write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertFalse(st.contains("nope"));
            TinyrtException e = assertThrows(TinyrtException.class, () -> st.info("nope"));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("'nope'"), e.getMessage());
            assertThrows(TinyrtException.class, () -> st.data("nope"));
        }
    }

    @Test
    void missingFileIsAUserError() {
        Path missing = dir.resolve("missing.safetensors");
        TinyrtException e = assertThrows(TinyrtException.class, () -> SafetensorsFile.open(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void writeReplacesAtomicallyWhileAReaderKeepsTheOldMapping() throws IOException {
        Path file = dir.resolve("r.safetensors");
        new SafetensorsWriter().addFloats("x", DType.F32, new long[]{1}, new float[]{1}).write(file);
        try (SafetensorsFile old = SafetensorsFile.open(file)) {
            new SafetensorsWriter().addFloats("x", DType.F32, new long[]{1}, new float[]{2}).write(file);
            assertArrayEquals(new float[]{1}, old.toFloats("x"));
            try (SafetensorsFile fresh = SafetensorsFile.open(file)) {
                assertArrayEquals(new float[]{2}, fresh.toFloats("x"));
            }
        }
    }

    @Test
    void failedWriteLeavesNoTemporaryAndKeepsTheOldFile() throws IOException {
        Path file = dir.resolve("f.safetensors");
        new SafetensorsWriter().addFloats("x", DType.F32, new long[]{1}, new float[]{1}).write(file);
        byte[] before = Files.readAllBytes(file);
        MemorySegment dead;
        try (Arena arena = Arena.ofConfined()) {
            dead = arena.allocate(4);
        }
        SafetensorsWriter writer = new SafetensorsWriter().add("x", DType.F32, new long[]{1}, dead);
        assertThrows(IllegalStateException.class, () -> writer.write(file));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertFalse(Files.exists(dir.resolve("f.safetensors.tmp")));
    }

    @Test
    void writerCopesWithTensorsLargerThanItsStagingBuffer() throws IOException {
        float[] big = new float[1_500_000]; // 6 MB as F32, 3 MB as BF16: crosses the 4 MB staging chunk
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.5f - 1000f;
        }
        byte[] raw = f32(big);
        Path file = dir.resolve("big.safetensors");
        new SafetensorsWriter()
                .add("raw", DType.F32, new long[]{big.length}, MemorySegment.ofArray(raw))
                .addFloats("bf16", DType.BF16, new long[]{1000, 1500}, big)
                .write(file);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertArrayEquals(raw, bytes(st.data("raw")));
            float[] back = st.toFloats("bf16");
            for (int i = 0; i < big.length; i += 997) {
                assertEquals(Numerics.bf16ToFloat(Numerics.floatToBf16(big[i])), back[i]);
            }
            assertEquals(Numerics.bf16ToFloat(Numerics.floatToBf16(big[big.length - 1])), back[big.length - 1]);
        }
    }

    @Test
    void writerRejectsInconsistentTensors() {
        SafetensorsWriter w = new SafetensorsWriter().add("a", DType.F32, new long[]{1}, MemorySegment.ofArray(new byte[4]));
        assertThrows(IllegalArgumentException.class,
                () -> w.add("b", DType.F32, new long[]{2}, MemorySegment.ofArray(new byte[4])));
        assertThrows(IllegalArgumentException.class,
                () -> w.add("a", DType.F32, new long[]{1}, MemorySegment.ofArray(new byte[4])));
        assertThrows(IllegalArgumentException.class,
                () -> w.add("__metadata__", DType.U8, new long[]{0}, MemorySegment.NULL));
        assertThrows(IllegalArgumentException.class,
                () -> w.add("neg", DType.U8, new long[]{-1}, MemorySegment.NULL));
        assertThrows(IllegalArgumentException.class,
                () -> w.add("huge", DType.I64, new long[]{1L << 62, 4}, MemorySegment.NULL));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("i", DType.I32, new long[]{1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addFloats("n", DType.F16, new long[]{3}, new float[2]));
        assertEquals(List.of("a"), w.names());
    }
}
