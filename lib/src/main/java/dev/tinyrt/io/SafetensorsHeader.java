package dev.tinyrt.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses and validates the header of a mapped safetensors file with the rules of the Rust safetensors crate:
 * 8-byte little-endian length N (at most 100,000,000), N bytes of UTF-8 JSON object, then a data section that the
 * tensors' data_offsets must cover exactly, without gaps or overlaps, to the last byte of the file.
 * Nothing is allocated from a length before it has been checked against the real file size.
 */
final class SafetensorsHeader {
    /** Same cap as the Rust crate's MAX_HEADER_SIZE. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final int PREFIX_BYTES = 8;
    /** A valid header nests 3 deep; the cap keeps forged deep nesting from costing stack or time. */
    private static final int MAX_NESTING = 64;

    static final JsonFactory JSON = new JsonFactoryBuilder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_NESTING)
                    .maxDocumentLength(MAX_HEADER_BYTES)
                    .maxStringLength((int) MAX_HEADER_BYTES)
                    .maxNameLength((int) MAX_HEADER_BYTES)
                    .build())
            .build();

    /** A validated header: tensors in data order (header order for zero-length ties). */
    record Parsed(List<TensorInfo> tensors, Map<String, String> metadata, long dataStart) {
    }

    private record Entry(String name, DType dtype, long[] shape, long begin, long end, int headerIndex) {
    }

    private SafetensorsHeader() {
    }

    static Parsed parse(Path file, MemorySegment mapped) {
        long fileSize = mapped.byteSize();
        if (fileSize < PREFIX_BYTES) {
            throw SafetensorsFormatException.of(file, "file is " + fileSize
                    + " bytes, too short for the 8-byte header length");
        }
        long headerLength = mapped.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw SafetensorsFormatException.of(file, "header length " + Long.toUnsignedString(headerLength)
                    + " exceeds the " + MAX_HEADER_BYTES + "-byte limit (not a safetensors file?)");
        }
        if (headerLength > fileSize - PREFIX_BYTES) {
            throw SafetensorsFormatException.of(file, "header length " + headerLength
                    + " runs past the end of the file (" + fileSize + " bytes; truncated?)");
        }
        long dataStart = PREFIX_BYTES + headerLength;
        long dataLength = fileSize - dataStart;
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        parseJson(file, mapped.asSlice(PREFIX_BYTES, headerLength), entries, metadata);
        return new Parsed(validateLayout(file, entries, dataLength), Collections.unmodifiableMap(metadata), dataStart);
    }

    private static void parseJson(Path file, MemorySegment header, List<Entry> entries, Map<String, String> metadata) {
        // A strict decoder rejects malformed UTF-8 as the Rust crate does, and streaming it avoids a heap copy.
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (Reader reader = new InputStreamReader(new SegmentInputStream(header), decoder);
             JsonParser p = JSON.createParser(reader)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw SafetensorsFormatException.of(file, "header is not a JSON object");
            }
            Set<String> seen = new HashSet<>();
            boolean sawMetadata = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals(METADATA_KEY)) {
                    if (sawMetadata) {
                        throw SafetensorsFormatException.of(file, "duplicate " + METADATA_KEY + " in header");
                    }
                    sawMetadata = true;
                    readMetadata(file, p, metadata);
                } else {
                    if (!seen.add(name)) {
                        throw SafetensorsFormatException.of(file, name, "duplicate tensor name in header");
                    }
                    entries.add(readEntry(file, p, name, entries.size()));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw SafetensorsFormatException.of(file, "header has content after its JSON object");
            }
        } catch (CharacterCodingException e) {
            throw SafetensorsFormatException.of(file, "header is not valid UTF-8");
        } catch (JacksonException e) {
            var where = e.getLocation();
            throw new SafetensorsFormatException(file + ": header is not valid JSON"
                    + (where == null ? "" : " at char " + where.getCharOffset()) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw SafetensorsFormatException.of(file, "cannot read header: " + e.getMessage());
        }
    }

    private static void readMetadata(Path file, JsonParser p, Map<String, String> metadata) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return; // the Rust crate reads __metadata__ as an Option
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw SafetensorsFormatException.of(file, METADATA_KEY + " is not a JSON object of strings");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw SafetensorsFormatException.of(file, METADATA_KEY + " value for key "
                        + SafetensorsFormatException.quote(key) + " is not a string");
            }
            if (metadata.putIfAbsent(key, p.getText()) != null) {
                throw SafetensorsFormatException.of(file, "duplicate " + METADATA_KEY + " key "
                        + SafetensorsFormatException.quote(key));
            }
        }
    }

    private static Entry readEntry(Path file, JsonParser p, String name, int headerIndex) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw SafetensorsFormatException.of(file, name, "header entry is not a JSON object");
        }
        DType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "dtype" -> {
                    requireFirst(file, name, field, dtype);
                    if (p.currentToken() != JsonToken.VALUE_STRING) {
                        throw SafetensorsFormatException.of(file, name, "dtype is not a string");
                    }
                    try {
                        dtype = DType.fromSafetensorsName(p.getText());
                    } catch (IllegalArgumentException e) {
                        throw SafetensorsFormatException.of(file, name, e.getMessage());
                    }
                }
                case "shape" -> {
                    requireFirst(file, name, field, shape);
                    shape = readIntegers(file, p, name, field);
                }
                case "data_offsets" -> {
                    requireFirst(file, name, field, offsets);
                    offsets = readIntegers(file, p, name, field);
                    if (offsets.length != 2) {
                        throw SafetensorsFormatException.of(file, name, "data_offsets must be [begin, end], got "
                                + offsets.length + " numbers");
                    }
                }
                default -> p.skipChildren(); // unknown fields are ignored, as serde does for the Rust crate
            }
        }
        if (dtype == null || shape == null || offsets == null) {
            throw SafetensorsFormatException.of(file, name, "header entry lacks "
                    + (dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1], headerIndex);
    }

    private static void requireFirst(Path file, String name, String field, Object previous) {
        if (previous != null) {
            throw SafetensorsFormatException.of(file, name, "duplicate field " + field);
        }
    }

    /** Reads a JSON array of non-negative integers that fit a long. */
    private static long[] readIntegers(Path file, JsonParser p, String name, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw SafetensorsFormatException.of(file, name, field + " is not a JSON array");
        }
        long[] values = new long[4];
        int count = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw SafetensorsFormatException.of(file, name, field + " holds " + p.getText()
                        + ", not a non-negative integer");
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw SafetensorsFormatException.of(file, name, field + " value " + p.getText() + " is too large");
            }
            long v = p.getLongValue();
            if (v < 0) {
                throw SafetensorsFormatException.of(file, name, field + " holds negative value " + v);
            }
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2); // grows with real input, which is capped
            }
            values[count++] = v;
        }
        return Arrays.copyOf(values, count);
    }

    private static List<TensorInfo> validateLayout(Path file, List<Entry> entries, long dataLength) {
        for (Entry e : entries) {
            String span = "data_offsets [" + e.begin + ", " + e.end + "]";
            if (e.end < e.begin) {
                throw SafetensorsFormatException.of(file, e.name, span + " end before they begin");
            }
            if (e.end > dataLength) {
                throw SafetensorsFormatException.of(file, e.name, span + " run past the end of the data section ("
                        + dataLength + " bytes; file truncated?)");
            }
            long needed;
            try {
                needed = TensorInfo.byteLengthOf(e.dtype, e.shape);
            } catch (ArithmeticException overflow) {
                throw SafetensorsFormatException.of(file, e.name, "shape " + Arrays.toString(e.shape)
                        + " of " + e.dtype + " overflows a 64-bit byte count");
            }
            if (needed != e.end - e.begin) {
                throw SafetensorsFormatException.of(file, e.name, e.dtype + Arrays.toString(e.shape) + " needs "
                        + needed + " bytes but " + span + " span " + (e.end - e.begin));
            }
        }
        // Like the Rust crate: sorted by offsets, each tensor starts exactly where the previous one ended.
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end)
                .thenComparingInt(Entry::headerIndex));
        List<TensorInfo> infos = new ArrayList<>(sorted.size());
        long covered = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin > covered) {
                throw SafetensorsFormatException.of(file, e.name, "starts at data byte " + e.begin
                        + " but the preceding tensors end at " + covered
                        + " (a gap; safetensors requires the data section to be covered contiguously)");
            }
            if (e.begin < covered) {
                throw SafetensorsFormatException.of(file, e.name, "data_offsets [" + e.begin + ", " + e.end
                        + "] overlap tensor " + SafetensorsFormatException.quote(previous.name)
                        + " [" + previous.begin + ", " + previous.end + "]");
            }
            covered = e.end;
            previous = e;
            infos.add(new TensorInfo(e.name, e.dtype, e.shape, e.begin, e.end - e.begin));
        }
        if (covered != dataLength) {
            throw SafetensorsFormatException.of(file, (dataLength - covered) + " bytes at the end of the data section"
                    + " belong to no tensor (tensors cover " + covered + " of " + dataLength + ")");
        }
        return infos;
    }

    /** Streams a mapped segment without copying it to the heap first. */
    private static final class SegmentInputStream extends InputStream {
        private final MemorySegment segment;
        private long position;

        SegmentInputStream(MemorySegment segment) {
            this.segment = segment;
        }

        @Override
        public int read() {
            return position < segment.byteSize() ? segment.get(ValueLayout.JAVA_BYTE, position++) & 0xFF : -1;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            long remaining = segment.byteSize() - position;
            if (length == 0) {
                return 0;
            }
            if (remaining == 0) {
                return -1;
            }
            int n = (int) Math.min(length, remaining);
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, position, buffer, offset, n);
            position += n;
            return n;
        }
    }
}
