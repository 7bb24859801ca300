package dev.tinyrt.scripts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.io.DType;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.TestCheckpoints;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** inference_engine.java --precision int8|int4 on a HF model: converted on the fly into the cache, then run. */
class InferencePrecisionScriptTest {
    /** Widths that group 128 divides (the shipped int4 config). */
    private static final LlamaConfig SMALL = new LlamaConfig(1000, 128, 256, 2, 4, 2, 32, 512, 1e-5f, 10000.0, false,
            "float16", 1, List.of(2));
    @TempDir
    static Path tmp;
    private static String previousCache;

    @BeforeAll
    static void privateCache() {
        previousCache = System.getProperty("tinyrt.cache");
        System.setProperty("tinyrt.cache", tmp.resolve("cache").toString());
    }

    @AfterAll
    static void restoreCache() {
        if (previousCache == null) {
            System.clearProperty("tinyrt.cache");
        } else {
            System.setProperty("tinyrt.cache", previousCache);
        }
    }

    private static int[] run(String... args) throws IOException {
        Path json = tmp.resolve("out-" + System.nanoTime() + ".json");
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--output-json";
        all[args.length + 1] = json.toString();
        ScriptHarness.Result r = ScriptHarness.run("inference_engine.java", all);
        assertEquals(0, r.exitCode(), r.err());
        JsonNode ids = new ObjectMapper().readTree(json.toFile()).get("output_ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).asInt();
        }
        return out;
    }

    @Test
    void aQuantizedPrecisionConvertsTheHfModelOnceAndRunsTheCheckpoint() throws IOException {
        Path hf = TestCheckpoints.write(SMALL, DType.F16, 3, tmp.resolve("hf"));
        String[] common = {"--prompt-ids", "1,45,783,310", "--max-new-tokens", "8", "--greedy", "--ignore-eos",
                "--threads", "2"};
        for (String precision : new String[]{"int8", "int4"}) {
            ScriptHarness.Result r = ScriptHarness.run("inference_engine.java", concat(new String[]{"--model",
                    hf.toString(), "--precision", precision}, common));
            assertEquals(0, r.exitCode(), r.err() + r.out());
            String note = r.err().lines().filter(l -> l.startsWith("note: " + precision + " checkpoint ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no conversion note: " + r.err()));
            Path ckpt = Path.of(note.substring(("note: " + precision + " checkpoint ").length()));
            assertTrue(ckpt.startsWith(tmp.resolve("cache")), ckpt.toString());
            assertEquals(precision.equals("int8") ? "W8A16" : "W4A16_AWQ",
                    TrtllmConfig.read(ckpt).quantization().algo().configName());
            // the same tokens as running the converted checkpoint directly
            int[] onTheFly = run(concat(new String[]{"--model", hf.toString(), "--precision", precision}, common));
            int[] direct = run(concat(new String[]{"--model", ckpt.toString()}, common));
            assertEquals(java.util.Arrays.toString(direct), java.util.Arrays.toString(onTheFly));
        }
        int[] fp16 = run(concat(new String[]{"--model", hf.toString()}, common));
        assertEquals(8, fp16.length);
        ScriptHarness.Result twice = ScriptHarness.run("inference_engine.java", concat(new String[]{"--model",
                hf.toString(), "--precision", "int8"}, common));
        assertNotEquals(-1, twice.err().indexOf("note: int8 checkpoint"));
    }

    @Test
    void aConvertedCheckpointCannotBeConvertedAgain() throws IOException {
        Path hf = TestCheckpoints.write(SMALL, DType.F16, 4, tmp.resolve("hf2"));
        ScriptHarness.Result first = ScriptHarness.run("inference_engine.java", "--model", hf.toString(),
                "--precision", "int8", "--prompt-ids", "1,2", "--max-new-tokens", "1");
        assertEquals(0, first.exitCode(), first.err());
        String note = first.err().lines().filter(l -> l.startsWith("note: int8 checkpoint ")).findFirst().orElseThrow();
        Path ckpt = Path.of(note.substring("note: int8 checkpoint ".length()));
        ScriptHarness.Result again = ScriptHarness.run("inference_engine.java", "--model", ckpt.toString(),
                "--precision", "int4", "--prompt-ids", "1,2", "--max-new-tokens", "1");
        assertEquals(2, again.exitCode());
        assertEquals(1, again.err().strip().lines().count(), again.err());
        assertTrue(again.err().contains("is already converted: drop --precision"), again.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
