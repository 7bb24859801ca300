package dev.tinyrt.quality;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.scripts.ScriptHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** quality_eval.java and quality_table.java on the bundled tinyrt-12m, two 128-token windows (fast on a CPU). */
class QualityScriptTest {
    private static final String MODEL = Path.of("../data/models/tinyrt-12m").toAbsolutePath().normalize().toString();

    @TempDir
    static Path tmp;
    static String text;

    /** The opening of the held-out text: a few thousand tokens, enough for two windows. */
    @BeforeAll
    static void text() throws IOException {
        String all = Files.readString(Path.of("../data/corpus/validation.txt"), StandardCharsets.UTF_8);
        Path file = tmp.resolve("held-out.txt");
        Files.writeString(file, all.substring(0, 6000) + EvalText.DOCUMENT_SEPARATOR + all.substring(6000, 9000));
        text = file.toString();
    }

    private static JsonNode read(Path f) throws IOException {
        return new ObjectMapper().readTree(f.toFile());
    }

    @Test
    void fp32AgainstBf16Storage() throws IOException {
        Path out = tmp.resolve("bf16.json");
        var r = ScriptHarness.run("quality_eval.java", "--reference", MODEL, "--candidate", MODEL,
                "--candidate-precision", "bf16", "--text", text, "--ctx", "128", "--max-chunks", "2",
                "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("Same top p"), r.out());
        JsonNode n = read(out);
        assertTrue(n.has("commit") && n.has("machine") && n.path("command").asText().contains("--max-chunks 2"));
        JsonNode res = n.path("results").get(0);
        assertEquals("tinyrt-12m bf16", res.path("label").asText());
        assertEquals("tinyrt-12m fp32", res.path("reference").asText());
        assertEquals(2, res.path("windows").asInt());
        assertEquals(2 * 63, res.path("tokens_scored").asInt());
        assertTrue(res.path("kld_mean").path("value").asDouble() > 0);
        assertTrue(res.path("kld").path("p99").asDouble() > 0);
        assertTrue(res.path("ppl").path("value").asDouble() != res.path("ppl_reference").path("value").asDouble());
    }

    /** The KV-int8 row: same fp32 weights, the KV cache stored as int8 with calibrated per-layer scales. */
    @Test
    void kvInt8RowHasASmallNonZeroDivergence() throws IOException {
        Path out = tmp.resolve("kv-int8.json");
        var r = ScriptHarness.run("quality_eval.java", "--reference", MODEL, "--candidate", MODEL,
                "--candidate-precision", "fp32", "--kv-cache-dtype", "int8", "--text", text, "--ctx", "128",
                "--max-chunks", "2", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode res = read(out).path("results").get(0);
        assertEquals("tinyrt-12m fp32 KV-int8", res.path("label").asText());
        double kld = res.path("kld_mean").path("value").asDouble();
        assertTrue(kld > 0 && kld < 5e-3, "KV-int8 mean KLD " + kld);
    }

    /** The checkpoint stores fp16: kept as fp16 or widened to fp32 it is the same model, bit for bit. */
    @Test
    void identicalModelsGiveZeroDivergenceAndFullTop1() throws IOException {
        Path out = tmp.resolve("fp16.json");
        var r = ScriptHarness.run("quality_eval.java", "--reference", MODEL, "--candidate", MODEL,
                "--candidate-precision", "fp16", "--label", "fp16", "--text", text, "--ctx", "128",
                "--max-chunks", "2", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode res = read(out).path("results").get(0);
        assertEquals("fp16", res.path("label").asText());
        assertEquals(0.0, res.path("kld_mean").path("value").asDouble());
        assertEquals(0.0, res.path("kld").path("max").asDouble());
        assertEquals(100.0, res.path("same_top1_pct").path("value").asDouble());
        assertEquals(0.0, res.path("delta_ppl").path("value").asDouble());
    }

    @Test
    void tableHasTheReferenceFirstThenEachRow() throws IOException {
        Path out = tmp.resolve("table.json");
        var r = ScriptHarness.run("quality_table.java", "--reference", MODEL, "--row", "fp16=@fp16",
                "--row", "bf16=" + MODEL + "@bf16", "--text", text, "--ctx", "128", "--max-chunks", "1",
                "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode rows = read(out).path("results");
        assertEquals(3, rows.size());
        assertEquals("fp32", rows.get(0).path("label").asText());
        assertEquals(0.0, rows.get(0).path("kld_mean").path("value").asDouble());
        assertEquals("bf16", rows.get(2).path("label").asText());
        assertTrue(rows.get(2).path("kld_mean").path("value").asDouble() > 0);
        String md = Files.readString(tmp.resolve("table.md"));
        assertTrue(md.startsWith("| model | perplexity | ΔPPL | mean KLD | p99 KLD | same top-1 % | tokens |"), md);
        assertEquals(5, md.lines().count(), md);
        assertTrue(md.lines().toList().get(2).startsWith("| fp32 | "), md);
    }

    @Test
    void cudaRowsWithoutAGpuAreOneLine() {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                dev.tinyrt.backend.cuda.CudaDevice.unavailableReason().isPresent(), "a GPU is present");
        var r = ScriptHarness.run("quality_table.java", "--reference", MODEL, "--row", "fp16=@fp16", "--backend",
                "cuda", "--text", text, "--ctx", "128", "--max-chunks", "1", "--out", tmp.resolve("c.json").toString());
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertTrue(r.err().contains("CUDA"), r.err());
    }

    @Test
    void userErrorsAreOneLine() {
        var tooLong = ScriptHarness.run("quality_eval.java", "--reference", MODEL, "--candidate", MODEL,
                "--text", text, "--ctx", "2048", "--out", tmp.resolve("x.json").toString());
        assertEquals(2, tooLong.exitCode());
        assertTrue(tooLong.err().contains("error: context size 2048 exceeds the 1024 positions"), tooLong.err());

        var noText = ScriptHarness.run("quality_eval.java", "--reference", MODEL, "--candidate", MODEL,
                "--text", tmp.resolve("absent.txt").toString());
        assertEquals(2, noText.exitCode());
        assertTrue(noText.err().contains("error: evaluation text not found"), noText.err());
    }
}
