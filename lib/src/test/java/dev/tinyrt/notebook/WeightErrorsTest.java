package dev.tinyrt.notebook;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.SafetensorsFile;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.LlamaConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-layer weight errors of converted checkpoints, checked against the stored tensors decoded here by the
 * layouts docs/configs.md gives (independently of the library's readers) and the original HF weights.
 */
class WeightErrorsTest {
    /** hidden 64, 4 heads of 16 (2 KV heads), intermediate 128, 2 layers: group 32 divides every width. */
    static final LlamaConfig SMALL = new LlamaConfig(32000, 64, 128, 2, 4, 2, 16, 256, 1e-5f, 10000.0, true,
            "float16", 1, List.of(2));

    @TempDir
    static Path shared;
    static Path hf;

    @TempDir
    Path tmp;

    @BeforeAll
    static void writeCheckpoint() {
        hf = shared.resolve("hf");
        RandomCheckpoint.write(SMALL, new RandomCheckpoint.Options(11, DType.F16, 0.15, 0.2, LlamaConfig.Spelling.HF5,
                ProjectHome.require().resolve("data/tokenizer")), hf);
    }

    private Path convert(Path model, String quantization, String name) throws IOException {
        Path cfg = tmp.resolve(name + ".yaml");
        Files.writeString(cfg, quantization + "calibration:\n  data: "
                + ProjectHome.require().resolve("data/calibration/calib.txt") + "\n  samples: 3\n  seq_len: 40\n"
                + "  awq_tokens: 100\n");
        Path out = tmp.resolve(name);
        TrtllmConverter.convert(model, BuildConfigLoader.load(cfg), null, out);
        return out;
    }

    @Test
    void unquantizedCheckpointHasNoErrorInAnyModuleInCheckpointOrder() throws IOException {
        List<WeightErrors.Linear> errors = WeightErrors.compare(hf, convert(hf, "quantization:\n  algorithm: none\n",
                "fp16"));
        assertEquals(2 * 5, errors.size());
        for (int i = 0; i < errors.size(); i++) {
            WeightErrors.Linear e = errors.get(i);
            assertEquals(i / 5, e.layer());
            assertEquals(WeightErrors.MODULES.get(i % 5), e.module());
            assertEquals(0.0, e.relativeError(), e.toString());
            assertEquals(0.0, e.maxAbsError(), e.toString());
        }
        // shapes [out, in]: q|k|v is 64 + 2 x 32 rows
        assertEquals(List.of(128, 64, 128, 128, 64), errors.subList(0, 5).stream().map(WeightErrors.Linear::rows).toList());
        assertEquals(List.of(64, 64, 64, 64, 128), errors.subList(0, 5).stream().map(WeightErrors.Linear::cols).toList());
        assertEquals(List.of("q_proj|k_proj|v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
                errors.subList(0, 5).stream().map(WeightErrors.Linear::hfWeights).toList());
    }

    /** W8A16: int8 [in, out] and per_channel_scale [out] in fp16, decoded here. */
    @Test
    void int8ErrorsAreThoseOfTheStoredIntegers() throws IOException {
        Path out = convert(hf, "quantization:\n  algorithm: W8A16\n", "int8");
        List<WeightErrors.Linear> errors = WeightErrors.compare(hf, out);
        try (TensorSource original = Checkpoints.open(hf); TensorSource stored = SafetensorsFile.open(
                out.resolve("rank0.safetensors"))) {
            String[] hfNames = {"self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
            String[] modules = {"attention.dense", "mlp.fc", "mlp.gate", "mlp.proj"};
            for (int l = 0; l < 2; l++) {
                for (int m = 0; m < modules.length; m++) {
                    float[] w = original.toFloats("model.layers." + l + "." + hfNames[m] + ".weight");
                    String module = "transformer.layers." + l + "." + modules[m];
                    byte[] q = stored.data(module + ".weight").toArray(ValueLayout.JAVA_BYTE);
                    float[] scale = stored.toFloats(module + ".per_channel_scale");
                    int rows = scale.length;
                    int cols = w.length / rows;
                    double diff = 0;
                    double norm = 0;
                    double max = 0;
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            double e = q[c * rows + r] * scale[r] - w[r * cols + c];  // transposed: [in, out]
                            diff += e * e;
                            norm += (double) w[r * cols + c] * w[r * cols + c];
                            max = Math.max(max, Math.abs(e));
                        }
                    }
                    WeightErrors.Linear e = errors.get(l * 5 + m + 1);
                    assertEquals(modules[m], e.module());
                    assertEquals(Math.sqrt(diff / norm), e.relativeError(), 1e-12, module);
                    assertEquals(max, e.maxAbsError(), 1e-9, module);
                    assertTrue(e.relativeError() > 0 && e.relativeError() < 0.01, module + ": " + e.relativeError());
                }
            }
        }
    }

    /** AWQ: weight int8 [out/2, in] (rows 2j, 2j+1 in the low and high nibble), scales [out, in/group], pre-scale [in]. */
    @Test
    void awqErrorFoldsThePreQuantScaleBackIn() throws IOException {
        Path out = convert(hf, "quantization:\n  algorithm: W4A16_AWQ\n  group_size: 32\n  awq_grid: 4\n", "awq");
        WeightErrors.Linear fc = WeightErrors.compare(hf, out).get(2);
        assertEquals("mlp.fc", fc.module());
        try (TensorSource original = Checkpoints.open(hf); TensorSource stored = SafetensorsFile.open(
                out.resolve("rank0.safetensors"))) {
            float[] w = original.toFloats("model.layers.0.mlp.gate_proj.weight");
            String module = "transformer.layers.0.mlp.fc";
            byte[] packed = stored.data(module + ".weight").toArray(ValueLayout.JAVA_BYTE);
            float[] scales = stored.toFloats(module + ".weights_scaling_factor");
            float[] pre = stored.toFloats(module + ".prequant_scaling_factor");
            int rows = 128;
            int cols = 64;
            double diff = 0;
            double norm = 0;
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    byte b = packed[(r / 2) * cols + c];
                    int n = r % 2 == 0 ? b & 0xF : (b >> 4) & 0xF;
                    double e = ((n ^ 8) - 8) * scales[r * (cols / 32) + c / 32] * pre[c] - w[r * cols + c];
                    diff += e * e;
                    norm += (double) w[r * cols + c] * w[r * cols + c];
                }
            }
            assertEquals(Math.sqrt(diff / norm), fc.relativeError(), 1e-9);
            // int4 in groups of 32 errs by several percent, far from an unscaled (wrong) reading
            assertTrue(fc.relativeError() > 0.01 && fc.relativeError() < 0.3, "relative error " + fc.relativeError());
        }
    }

    @Test
    void checkpointOfAnotherShapeIsRejected() throws IOException {
        Path other = tmp.resolve("other-hf");
        LlamaConfig wider = new LlamaConfig(32000, 64, 256, 2, 4, 2, 16, 256, 1e-5f, 10000.0, true, "float16", 1,
                List.of(2));
        RandomCheckpoint.write(wider, new RandomCheckpoint.Options(12, DType.F16, 0.15, 0.2,
                LlamaConfig.Spelling.HF5, ProjectHome.require().resolve("data/tokenizer")), other);
        Path converted = convert(other, "quantization:\n  algorithm: none\n", "other");
        TinyrtException e = assertThrows(TinyrtException.class, () -> WeightErrors.compare(hf, converted));
        assertTrue(e.getMessage().contains("shapes differ"), e.getMessage());
    }

    @Test
    void tableHasOneRowPerLinearWithTheErrorInPercent() {
        List<WeightErrors.Linear> errors = List.of(
                new WeightErrors.Linear(0, "attention.qkv", "q_proj|k_proj|v_proj", 128, 64, 0.0125, 0.003),
                new WeightErrors.Linear(1, "mlp.proj", "down_proj", 64, 128, 0.5, 0.25));
        Table t = WeightErrors.table("int8", errors);
        assertEquals(List.of("precision", "layer", "module", "hf weights", "rows", "cols", "relative error %",
                "max |error|"), t.columnNames());
        assertEquals(2, t.rowCount());
        assertEquals("int8", t.stringColumn("precision").get(1));
        assertEquals(1, t.intColumn("layer").get(1));
        assertEquals(1.25, t.doubleColumn("relative error %").get(0), 1e-12);
        assertEquals(50.0, t.doubleColumn("relative error %").get(1), 1e-12);
        assertEquals(0.25, t.doubleColumn("max |error|").get(1));
    }

    @Test
    void missingDirectoryIsAUserError() {
        assertThrows(TinyrtException.class, () -> WeightErrors.compare(hf, tmp.resolve("nowhere")));
    }
}
