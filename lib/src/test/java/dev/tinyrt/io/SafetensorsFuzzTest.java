package dev.tinyrt.io;

import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mutates valid files (bit flips, byte overwrites in the header and length prefix, truncation, extension,
 * structured JSON edits) and checks the reader's contract: every case either opens, and then every tensor's data
 * can be read fully, or throws SafetensorsFormatException naming the file. Nothing else: no other exception, no
 * Error, no out-of-memory. The seed is fixed so a failure reproduces; failures print their case number and mutation.
 */
class SafetensorsFuzzTest {
    private static final long SEED = 0x5AFE_7E45L;
    private static final int CASES = 2000;

    @TempDir
    Path dir;

    private static final byte[] INTERESTING = "{}[]\",:-09 eE.\\".getBytes(StandardCharsets.US_ASCII);
    private static final String[] NUMBERS = {"0", "1", "-1", "7", "8", "4294967296", "9007199254740993",
            "9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775808", "1e3",
            "1.5", "100000000000000000000000000000", "2305843009213693952", "00"};
    private static final String[] DTYPES = {"\"F32\"", "\"F16\"", "\"BF16\"", "\"I8\"", "\"U8\"", "\"I32\"", "\"I64\"",
            "\"F8_E4M3\"", "\"F64\"", "\"BOOL\"", "\"F8_E5M2\"", "\"\"", "\"f32\"", "7", "null", "[]", "{}"};
    private static final String[] FRAGMENTS = {"\"x\":1,", ",", "{", "}", "[", "]", "\"", "null", "\"\\u0000\"",
            "\"__metadata__\":{\"a\":\"b\"},", "\"__metadata__\":{\"a\":1},", "\"\\uD800\"", "1e999", " ", "\t\n",
            "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},", "[".repeat(5000), "{\"a\":".repeat(3000),
            "\"extra\":" + "[".repeat(80) + "]".repeat(80) + ","};
    private static final String[] WHOLE_HEADERS = {"[]", "1", "\"s\"", "null", "", "{}", "{\"__metadata__\":{}}",
            "{\"__metadata__\":null}", "true", "{\"a\":{}}"};
    private static final Pattern NUMBER = Pattern.compile("-?\\d+");
    private static final Pattern DTYPE_VALUE = Pattern.compile("(?<=\"dtype\":)\"[^\"]*\"");
    private static final Pattern SHAPE_VALUE = Pattern.compile("(?<=\"shape\":)\\[[^\\]]*\\]");
    private static final Pattern NAME = Pattern.compile("\"([^\"]+)\":\\{\"dtype\"");
    private static final String[] SHAPES = {"[]", "[0]", "[-1]", "[1,1,1,1,1,1,1,1]", "[4294967296,4294967296]",
            "[2,3]", "[1]", "[3]", "[9223372036854775807]", "[1.0]", "[\"2\"]", "{}"};

    private record Mutant(String description, byte[] bytes) {
    }

    @Test
    void mutatedFilesEitherOpenAndReadFullyOrFailWithAFormatError() throws IOException {
        List<byte[]> bases = List.of(writerFile(), handCraftedFile());
        Random random = new Random(SEED);
        Path file = dir.resolve("fuzz.safetensors");
        List<String> failures = new ArrayList<>();
        int opened = 0;
        int rejected = 0;
        for (int i = 0; i < CASES; i++) {
            byte[] base = bases.get(random.nextInt(bases.size()));
            Mutant mutant = mutate(base, random);
            if (random.nextInt(5) == 0) {
                Mutant second = mutate(mutant.bytes, random);
                mutant = new Mutant(mutant.description + " then " + second.description, second.bytes);
            }
            Files.write(file, mutant.bytes);
            try {
                readEverything(file);
                opened++;
            } catch (SafetensorsFormatException e) {
                rejected++;
                if (!e.getMessage().startsWith(file + ": ")) {
                    failures.add("case " + i + " (" + mutant.description + "): message lacks the file: " + e.getMessage());
                }
            } catch (Throwable t) { // the point of the test: nothing else may escape, not even an Error
                StringWriter trace = new StringWriter();
                t.printStackTrace(new PrintWriter(trace));
                failures.add("case " + i + " (" + mutant.description + "): " + trace);
            }
        }
        System.out.printf("fuzz: %d cases, %d opened, %d rejected%n", CASES, opened, rejected);
        assertEquals(List.of(), failures.subList(0, Math.min(5, failures.size())), failures.size() + " failures");
        assertTrue(opened > 200 && rejected > 1000, "mutations too weak or too strong: " + opened + "/" + rejected);
    }

    private static void readEverything(Path file) {
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            st.metadata().forEach((k, v) -> {
            });
            long total = 0;
            for (String name : st.names()) {
                TensorInfo info = st.info(name);
                MemorySegment data = st.data(name);
                if (data.byteSize() != info.byteLength()) {
                    throw new AssertionError(name + ": data " + data.byteSize() + " != " + info.byteLength());
                }
                for (long b = 0; b < data.byteSize(); b++) {
                    total += data.get(ValueLayout.JAVA_BYTE, b);
                }
                try {
                    st.toFloats(name);
                } catch (TinyrtException expected) {
                    // I64 beyond 2^24 is a documented user error, not a format error
                }
            }
            if (total == Long.MIN_VALUE) {
                throw new AssertionError("unreachable; keeps the reads from being optimised away");
            }
        }
    }

    private Mutant mutate(byte[] base, Random r) {
        byte[] b = base.clone();
        int headerEnd = (int) Math.min(b.length, 8 + Math.max(0, Math.min(Integer.MAX_VALUE - 16, declaredLength(b))));
        switch (b.length < 16 ? 4 : r.nextInt(8)) { // a stub left by an earlier truncation can only grow
            case 0 -> {
                int flips = 1 + r.nextInt(4);
                for (int k = 0; k < flips && b.length > 0; k++) {
                    int pos = r.nextBoolean() && headerEnd > 0 ? r.nextInt(headerEnd) : r.nextInt(b.length);
                    b[pos] ^= (byte) (1 << r.nextInt(8));
                }
                return new Mutant(flips + " bit flips", b);
            }
            case 1 -> {
                int writes = 1 + r.nextInt(3);
                for (int k = 0; k < writes && headerEnd > 8; k++) {
                    int pos = 8 + r.nextInt(headerEnd - 8);
                    b[pos] = r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)] : (byte) r.nextInt(256);
                }
                return new Mutant(writes + " header byte overwrites", b);
            }
            case 2 -> {
                long n = declaredLength(b);
                long forged = switch (r.nextInt(8)) {
                    case 0 -> n + 1 + r.nextInt(16);
                    case 1 -> n - 1 - r.nextInt(16);
                    case 2 -> r.nextLong();
                    case 3 -> r.nextInt(2 * b.length + 1);
                    case 4 -> b.length - 8 + r.nextInt(3) - 1;
                    case 5 -> 100_000_000L + r.nextInt(3) - 1;
                    case 6 -> Long.MIN_VALUE + r.nextInt(2) - 1;
                    default -> n ^ (1L << r.nextInt(64));
                };
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, forged);
                return new Mutant("length prefix " + Long.toUnsignedString(forged), b);
            }
            case 3 -> {
                int length = r.nextInt(b.length);
                return new Mutant("truncated to " + length, Arrays.copyOf(b, length));
            }
            case 4 -> {
                byte[] longer = Arrays.copyOf(b, b.length + 1 + r.nextInt(64));
                if (r.nextBoolean()) {
                    for (int k = b.length; k < longer.length; k++) {
                        longer[k] = (byte) r.nextInt(256);
                    }
                }
                return new Mutant("extended to " + longer.length, longer);
            }
            case 5 -> {
                // Data bytes carry no structure: the file must still open (and decode NaNs, infinities, etc.).
                int writes = 1 + r.nextInt(8);
                for (int k = 0; k < writes && headerEnd < b.length; k++) {
                    b[headerEnd + r.nextInt(b.length - headerEnd)] = (byte) r.nextInt(256);
                }
                return new Mutant(writes + " data byte overwrites", b);
            }
            default -> {
                return jsonEdit(b, r);
            }
        }
    }

    /** Edits the header as text, then usually rewrites the prefix to the new length so the JSON itself is tested. */
    private Mutant jsonEdit(byte[] b, Random r) {
        long n = declaredLength(b);
        if (n < 0 || n > b.length - 8) {
            return new Mutant("no-op (prefix already broken)", b);
        }
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8).stripTrailing();
        byte[] data = Arrays.copyOfRange(b, 8 + (int) n, b.length);
        String description;
        String edited;
        switch (header.isEmpty() ? 8 : r.nextInt(9)) {
            case 0 -> {
                edited = replaceRandomMatch(header, NUMBER, NUMBERS[r.nextInt(NUMBERS.length)], r);
                description = "number edit";
            }
            case 1 -> {
                edited = replaceRandomMatch(header, DTYPE_VALUE, DTYPES[r.nextInt(DTYPES.length)], r);
                description = "dtype edit";
            }
            case 2 -> {
                edited = replaceRandomMatch(header, SHAPE_VALUE, SHAPES[r.nextInt(SHAPES.length)], r);
                description = "shape edit";
            }
            case 3 -> {
                int from = r.nextInt(header.length());
                int to = Math.min(header.length(), from + 1 + r.nextInt(20));
                edited = header.substring(0, from) + header.substring(to);
                description = "deleted chars " + from + ".." + to;
            }
            case 4 -> {
                int from = r.nextInt(header.length());
                int to = Math.min(header.length(), from + 1 + r.nextInt(60));
                int at = r.nextInt(header.length() + 1);
                edited = header.substring(0, at) + header.substring(from, to) + header.substring(at);
                description = "duplicated chars " + from + ".." + to + " at " + at;
            }
            case 5 -> {
                int at = r.nextInt(header.length() + 1);
                String fragment = FRAGMENTS[r.nextInt(FRAGMENTS.length)];
                edited = header.substring(0, at) + fragment + header.substring(at);
                description = "inserted fragment of " + fragment.length() + " chars at " + at;
            }
            case 6 -> {
                Matcher m = NAME.matcher(header);
                List<String> names = new ArrayList<>();
                while (m.find()) {
                    names.add(m.group(1));
                }
                if (names.isEmpty()) {
                    return new Mutant("no-op (no tensor names left)", b);
                }
                String victim = names.get(r.nextInt(names.size()));
                String replacement = r.nextBoolean() ? names.get(r.nextInt(names.size())) : "__metadata__";
                edited = header.replaceFirst(Pattern.quote("\"" + victim + "\":{\"dtype\""),
                        Matcher.quoteReplacement("\"" + replacement + "\":{\"dtype\""));
                description = "renamed " + victim + " to " + replacement;
            }
            case 7 -> {
                // Legal JSON whitespace after a separator keeps the header meaning the same.
                List<Integer> separators = new ArrayList<>();
                for (int k = 0; k < header.length(); k++) {
                    if (header.charAt(k) == ',' || header.charAt(k) == ':') {
                        separators.add(k + 1);
                    }
                }
                int at = separators.isEmpty() ? 0 : separators.get(r.nextInt(separators.size()));
                edited = header.substring(0, at) + " \n\t\r".substring(0, 1 + r.nextInt(4)) + header.substring(at);
                description = "whitespace at " + at;
            }
            default -> {
                edited = WHOLE_HEADERS[r.nextInt(WHOLE_HEADERS.length)];
                description = "header replaced by " + edited;
            }
        }
        byte[] newHeader = (edited + " ".repeat(r.nextInt(9))).getBytes(StandardCharsets.UTF_8);
        long prefix = r.nextInt(4) == 0 ? n : newHeader.length;
        return new Mutant(description + (prefix == n ? " (old prefix)" : ""),
                SafetensorsBytes.file(prefix, newHeader, data));
    }

    private static String replaceRandomMatch(String text, Pattern pattern, String replacement, Random r) {
        Matcher m = pattern.matcher(text);
        List<int[]> spans = new ArrayList<>();
        while (m.find()) {
            spans.add(new int[]{m.start(), m.end()});
        }
        if (spans.isEmpty()) {
            return text;
        }
        int[] span = spans.get(r.nextInt(spans.size()));
        return text.substring(0, span[0]) + replacement + text.substring(span[1]);
    }

    private static long declaredLength(byte[] b) {
        return b.length < 8 ? -1 : ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    private byte[] writerFile() throws IOException {
        Path file = dir.resolve("base.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .addFloats("model.embed.weight", DType.BF16, new long[]{4, 3}, new float[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
                .addFloats("model.norm", DType.F32, new long[]{3}, new float[]{0.5f, -1, 2})
                .addFloats("h", DType.F16, new long[]{2, 1}, new float[]{65504, -0.25f})
                .addFloats("q", DType.F8_E4M3, new long[]{5}, new float[]{448, 1, -2, 0x1p-9f, 0})
                .add("ids", DType.I64, new long[]{2}, MemorySegment.ofArray(SafetensorsBytes.i64(3, 1L << 40)))
                .add("i", DType.I32, new long[]{}, MemorySegment.ofArray(SafetensorsBytes.i32(-5)))
                .add("bytes", DType.U8, new long[]{3}, MemorySegment.ofArray(new byte[]{1, 2, 3}))
                .add("signed", DType.I8, new long[]{2}, MemorySegment.ofArray(new byte[]{-1, 1}))
                .add("empty", DType.F16, new long[]{0, 7}, MemorySegment.ofArray(new byte[0]))
                .write(file);
        return Files.readAllBytes(file);
    }

    private static byte[] handCraftedFile() {
        String header = "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                + "\"__metadata__\":{\"format\":\"pt\",\"k\":\"v\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        return SafetensorsBytes.file(header, SafetensorsBytes.concat(SafetensorsBytes.f32(1.5f, -2f),
                SafetensorsBytes.i16(0x3C00, 0x7BFF)));
    }
}
