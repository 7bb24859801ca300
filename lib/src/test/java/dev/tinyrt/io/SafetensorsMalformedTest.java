package dev.tinyrt.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.tinyrt.io.SafetensorsBytes.concat;
import static dev.tinyrt.io.SafetensorsBytes.f32;
import static dev.tinyrt.io.SafetensorsBytes.file;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each kind of bad file gets a SafetensorsFormatException naming the file and, where it applies, the tensor. */
class SafetensorsMalformedTest {
    @TempDir
    Path dir;

    private static final String TWO = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";

    private void assertRejected(byte[] content, String... expectedFragments) throws IOException {
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, content);
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        String message = e.getMessage();
        assertTrue(message.startsWith(file + ": "), message);
        for (String fragment : expectedFragments) {
            assertTrue(message.contains(fragment), "expected '" + fragment + "' in: " + message);
        }
    }

    private static byte[] entry(String tensorJson, byte[] data) {
        return file("{" + tensorJson + "}", data);
    }

    @Test
    void validBaselineOpens() throws IOException {
        Path file = dir.resolve("ok.safetensors");
        Files.write(file, file(TWO, f32(1, 2, 3)));
        SafetensorsFile.open(file).close();
    }

    @Test
    void tooShortForTheLengthPrefix() throws IOException {
        assertRejected(new byte[0], "0 bytes");
        assertRejected(new byte[5], "5 bytes");
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        byte[] header = TWO.getBytes(StandardCharsets.UTF_8);
        assertRejected(file(header.length + 13L, header, f32(1, 2)), "runs past the end of the file");
    }

    @Test
    void absurdHeaderLengthIsRefusedBeforeAnyAllocation() throws IOException {
        byte[] header = TWO.getBytes(StandardCharsets.UTF_8);
        assertRejected(file(100_000_001L, header, f32(1, 2, 3)), "exceeds the 100000000-byte limit");
        assertRejected(file(-1L, header, f32(1, 2, 3)), "18446744073709551615");
        assertRejected(file(Long.MAX_VALUE, header, f32(1, 2, 3)), "exceeds");
    }

    @Test
    void truncatedDataNamesTheTensorThatRunsPastTheEnd() throws IOException {
        assertRejected(file(TWO, f32(1, 2)), "tensor 'b'", "run past the end of the data section (8 bytes");
    }

    @Test
    void trailingBytesNotCoveredByAnyTensor() throws IOException {
        assertRejected(file(TWO, concat(f32(1, 2, 3), new byte[]{9})), "1 bytes at the end of the data section");
    }

    @Test
    void gapBetweenTensorsIsRejectedLikeTheRustCrate() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}", f32(1, 2, 3)),
                "tensor 'b'", "gap");
        assertRejected(entry("\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}", f32(1, 2)),
                "tensor 'b'", "gap");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}", f32(1, 2, 3)),
                "tensor 'b'", "overlap tensor 'a'");
    }

    @Test
    void offsetsEndingBeforeTheyBegin() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}", f32(1)),
                "tensor 'a'", "end before they begin");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}", f32(1, 2)),
                "tensor 'a'", "unsupported dtype 'F64'");
        assertRejected(entry("\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}", f32(1)),
                "tensor 'a'", "unsupported dtype 'f32'");
        assertRejected(entry("\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}", f32(1)),
                "tensor 'a'", "dtype is not a string");
    }

    @Test
    void shapeAndByteCountMismatch() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}", f32(1, 2)),
                "tensor 'a'", "needs 12 bytes but data_offsets [0, 8] span 8");
    }

    @Test
    void negativeAndNonIntegerDims() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}", f32(1, 2)),
                "tensor 'a'", "negative");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}", f32(1, 2)),
                "tensor 'a'", "not a non-negative integer");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],"
                + "\"data_offsets\":[0,8]}", f32(1, 2)), "tensor 'a'", "too large");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,7]}", f32(1, 2)),
                "tensor 'a'", "negative");
    }

    @Test
    void numelTimesSizeOverflow() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,0]}", new byte[0]), "tensor 'a'", "overflows");
        assertRejected(entry("\"a\":{\"dtype\":\"I64\",\"shape\":[2305843009213693952],"
                + "\"data_offsets\":[0,0]}", new byte[0]), "tensor 'a'", "overflows");
    }

    @Test
    void duplicateNamesAndFields() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}", f32(1, 2)), "tensor 'a'", "duplicate");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}",
                f32(1)), "tensor 'a'", "duplicate field dtype");
        assertRejected(file("{\"__metadata__\":{},\"__metadata__\":{}}", new byte[0]), "duplicate __metadata__");
    }

    @Test
    void missingFieldsAndWrongShapes() throws IOException {
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[1]}", f32(1)), "tensor 'a'", "lacks data_offsets");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}", f32(1)), "tensor 'a'", "lacks shape");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,4]}", f32(1)),
                "tensor 'a'", "[begin, end]");
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}", f32(1)),
                "tensor 'a'", "shape is not a JSON array");
        assertRejected(entry("\"a\":[1,2]", f32(1)), "tensor 'a'", "not a JSON object");
    }

    @Test
    void unknownFieldsAreIgnoredLikeSerdeDoes() throws IOException {
        Path file = dir.resolve("extra.safetensors");
        Files.write(file, entry("\"a\":{\"dtype\":\"F32\",\"extra\":{\"deep\":[1,{\"x\":null}]},\"shape\":[1],"
                + "\"data_offsets\":[0,4]}", f32(1)));
        SafetensorsFile.open(file).close();
    }

    @Test
    void metadataMustBeAnObjectOfStrings() throws IOException {
        assertRejected(file("{\"__metadata__\":{\"total\":5}}", new byte[0]), "key 'total' is not a string");
        assertRejected(file("{\"__metadata__\":[]}", new byte[0]), "__metadata__ is not a JSON object");
    }

    @Test
    void headerNotAJsonObject() throws IOException {
        assertRejected(file("[]", new byte[0]), "header is not a JSON object");
        assertRejected(file("\"str\"", new byte[0]), "header is not a JSON object");
        assertRejected(file("42      ", new byte[0]), "header is not a JSON object");
        assertRejected(file("", new byte[0]), "header is not a JSON object");
        assertRejected(file("        ", new byte[0]), "header is not a JSON object");
    }

    @Test
    void invalidJsonAndTrailingContent() throws IOException {
        assertRejected(file("{\"a\":", new byte[0]), "not valid JSON");
        assertRejected(file("{'a':1}", new byte[0]), "not valid JSON");
        assertRejected(file("{}x", new byte[0]), "not valid JSON");
        assertRejected(file("{}{}", new byte[0]), "content after its JSON object");
        assertRejected(file("{}\0\0\0\0\0\0", new byte[0]), "not valid JSON");
    }

    @Test
    void nonUtf8Header() throws IOException {
        byte[] header = "{\"__metadata__\":{\"k\":\"v?\"}}".getBytes(StandardCharsets.US_ASCII);
        header[header.length - 4] = (byte) 0xFF;
        assertRejected(file(header, new byte[0]), "not valid UTF-8");
        byte[] overlong = "{\"__metadata__\":{\"k\":\"??\"}}".getBytes(StandardCharsets.US_ASCII);
        overlong[overlong.length - 5] = (byte) 0xC0; // overlong encoding of '/'
        overlong[overlong.length - 4] = (byte) 0xAF;
        assertRejected(file(overlong, new byte[0]), "not valid UTF-8");
    }

    @Test
    void byteOrderMarkIsRejectedLikeTheRustCrate() throws IOException {
        assertRejected(file(concat(new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, "{}".getBytes()), new byte[0]));
    }

    @Test
    void deeplyNestedJsonCannotBlowTheStack() throws IOException {
        String deep = "[".repeat(200_000) + "]".repeat(200_000);
        assertRejected(entry("\"a\":{\"dtype\":\"F32\",\"x\":" + deep + ",\"shape\":[1],\"data_offsets\":[0,4]}",
                f32(1)), "not valid JSON", "nesting depth");
        assertRejected(file("{\"a\":" + "{\"a\":".repeat(100_000) + "}".repeat(100_001), new byte[0]),
                "not valid JSON");
    }

    @Test
    void hugeTensorNamesAreShortenedInMessages() throws IOException {
        String name = "n".repeat(100_000);
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, entry("\"" + name + "\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}",
                f32(1, 2)));
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().length() < 1000 && e.getMessage().contains("(100000 chars)"), e.getMessage());
    }
}
