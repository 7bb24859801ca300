package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tinyrt.TinyrtException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads and writes {@link BenchmarkReport} files. Reading is strict — every field present, no unknown field, the
 * schema version checked — so a file from environment/hf_baseline.py that drifts from the Java records is
 * rejected rather than half read.
 */
public final class BenchmarkJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private BenchmarkJson() {
    }

    public static String toJson(BenchmarkReport report) {
        try {
            return MAPPER.writeValueAsString(report);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static void write(Path file, BenchmarkReport report) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, toJson(report) + "\n");
        } catch (IOException e) {
            throw new TinyrtException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public static BenchmarkReport read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TinyrtException("benchmark result not found: " + file);
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new TinyrtException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public static BenchmarkReport parse(String json, String source) {
        BenchmarkReport r;
        try {
            r = MAPPER.readValue(json, BenchmarkReport.class);
        } catch (IOException e) {
            throw new TinyrtException(source + " is not a " + BenchmarkReport.SCHEMA + " file: "
                    + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (!BenchmarkReport.SCHEMA.equals(r.schema())) {
            throw new TinyrtException(source + " has schema \"" + r.schema() + "\", expected "
                    + BenchmarkReport.SCHEMA);
        }
        return r;
    }
}
