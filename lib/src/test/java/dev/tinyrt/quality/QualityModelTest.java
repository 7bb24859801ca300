package dev.tinyrt.quality;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.DType;
import dev.tinyrt.io.SafetensorsWriter;
import dev.tinyrt.io.TensorInfo;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.TestCheckpoints;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The evaluator on real (random) checkpoints run by the CPU engine, and its errors for bad input. */
class QualityModelTest {
    private static final int CTX = 64;

    @TempDir
    static Path tmp;
    static Path model;
    static Path perturbed;
    static int[] tokens;

    @BeforeAll
    static void checkpoints() throws IOException {
        LlamaConfig config = TestCheckpoints.gqa(); // vocab 301, context 128
        model = TestCheckpoints.write(config, DType.F32, 21, tmp.resolve("model"));
        perturbed = perturbedCopy(model, tmp.resolve("perturbed"), 0.05, 5);
        Random random = new Random(8);
        tokens = new int[3 * CTX + 10];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(config.vocabSize());
        }
    }

    /** The checkpoint with Gaussian noise of {@code std} added to every weight, written with SafetensorsWriter. */
    static Path perturbedCopy(Path from, Path to, double std, long seed) throws IOException {
        Files.createDirectories(to);
        Random random = new Random(seed);
        try (TensorSource src = Checkpoints.open(from)) {
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            for (String name : src.names()) {
                TensorInfo info = src.info(name);
                float[] values = src.toFloats(name);
                for (int i = 0; i < values.length; i++) {
                    values[i] += (float) (std * random.nextGaussian());
                }
                writer.addFloats(name, info.dtype(), info.shape(), values);
            }
            writer.write(to.resolve("model.safetensors"));
        }
        for (String f : List.of("config.json", "generation_config.json")) {
            Files.copy(from.resolve(f), to.resolve(f));
        }
        return to;
    }

    private static QualityResult compare(Path reference, Path candidate, int threadsRef, int threadsCand) {
        try (var ref = ModelLogitSource.open(reference, StoragePrecision.FP32, threadsRef);
             var cand = ModelLogitSource.open(candidate, StoragePrecision.FP32, threadsCand)) {
            return QualityEvaluator.evaluate(ref, "ref", new QualityEvaluator.Candidate("cand", cand), tokens,
                    new QualityEvaluator.Options(CTX, 0, 1));
        }
    }

    @Test
    void identicalModelsLoadedTwiceGiveExactlyZero() {
        QualityResult r = compare(model, model, 1, 2);
        assertEquals(3, r.windows());
        assertEquals(3 * 31, r.tokensScored());
        assertEquals(0.0, r.meanKld().value());
        assertEquals(0.0, r.kld().max());
        assertEquals(1.0, r.sameTop().value());
        assertEquals(r.pplReference().value(), r.pplCandidate().value());
        assertEquals(0.0, r.deltaPpl().value());
        assertTrue(r.pplReference().value() > 1);
    }

    @Test
    void aPerturbedModelDiverges() {
        QualityResult r = compare(model, perturbed, 2, 2);
        assertTrue(r.meanKld().value() > 1e-4, "mean KLD " + r.meanKld().value());
        assertTrue(r.kld().min() >= 0 && r.kld().p99() >= r.kld().median() && r.kld().max() >= r.kld().p99());
        assertNotEquals(r.pplReference().value(), r.pplCandidate().value());
        assertEquals(r.pplCandidate().value() - r.pplReference().value(), r.deltaPpl().value(), 1e-9);
        assertTrue(r.meanKld().uncertainty() > 0, "93 tokens: llama.cpp's standard error applies");
    }

    @Test
    void modelSourceSkipsUnwantedRowsWithoutChangingTheOthers() {
        int[] ids = java.util.Arrays.copyOf(tokens, CTX);
        try (var src = ModelLogitSource.open(model, StoragePrecision.AUTO, 2)) {
            float[][] all = src.logits(ids);
            float[][] half = src.logits(ids, CTX / 2, CTX - 1);
            assertEquals(CTX / 2 - 1, half.length);
            for (int j = 0; j < half.length; j++) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(all[CTX / 2 + j], half[j]);
            }
            assertEquals(128, src.contextLength());
        }
    }

    @Test
    void contextLongerThanTheModelsIsRejected() {
        try (var ref = ModelLogitSource.open(model, StoragePrecision.AUTO, 1)) {
            var e = assertThrows(TinyrtException.class, () -> QualityEvaluator.evaluate(ref, "ref",
                    new QualityEvaluator.Candidate("c", ref), new int[1000], new QualityEvaluator.Options(256, 0, 1)));
            assertEquals("context size 256 exceeds the 128 positions ref supports", e.getMessage());
        }
    }

    @Test
    void textShorterThanOneWindowIsRejected() {
        var e = assertThrows(TinyrtException.class, () -> QualityEvaluator.windows(50,
                new QualityEvaluator.Options(64, 0, 1)));
        assertEquals("the evaluation text has only 50 tokens, fewer than one window of 64;"
                + " use a longer text or a smaller context size", e.getMessage());
        var small = assertThrows(TinyrtException.class, () -> QualityEvaluator.windows(50,
                new QualityEvaluator.Options(2, 0, 1)));
        assertTrue(small.getMessage().startsWith("context size 2 is too small"), small.getMessage());
    }

    @Test
    void runErrorsNameTheProblem() throws IOException {
        Path text = tmp.resolve("text.txt");
        Files.writeString(text, "Hello world.\n\n<|endoftext|>\n\nA second document.\n");
        ModelSpec ref = ModelSpec.of(model, StoragePrecision.FP32);

        var noModel = assertThrows(TinyrtException.class, () -> new QualityRun(ModelSpec.of(tmp.resolve("absent"),
                StoragePrecision.FP32), List.of(ref), text, 16, 0, 1, false).execute());
        assertTrue(noModel.getMessage().startsWith("model directory not found"), noModel.getMessage());

        var noTokenizer = assertThrows(TinyrtException.class,
                () -> new QualityRun(ref, List.of(ref), text, 16, 0, 1, false).execute());
        assertTrue(noTokenizer.getMessage().contains("has no tokenizer.json"), noTokenizer.getMessage());

        Path withTokenizer = smallModelWithTokenizer();
        ModelSpec tokRef = ModelSpec.of(withTokenizer, StoragePrecision.FP32);
        var noText = assertThrows(TinyrtException.class, () -> new QualityRun(tokRef, List.of(tokRef),
                tmp.resolve("missing.txt"), 16, 0, 1, false).execute());
        assertEquals("evaluation text not found: " + tmp.resolve("missing.txt"), noText.getMessage());

        var tooShort = assertThrows(TinyrtException.class,
                () -> new QualityRun(tokRef, List.of(tokRef), text, 64, 0, 1, false).execute());
        assertTrue(tooShort.getMessage().contains("fewer than one window of 64"), tooShort.getMessage());

        var tooLong = assertThrows(TinyrtException.class,
                () -> new QualityRun(tokRef, List.of(tokRef), text, 4096, 0, 1, false).execute());
        assertTrue(tooLong.getMessage().contains("exceeds the 128 positions"), tooLong.getMessage());

        var vocab = assertThrows(TinyrtException.class,
                () -> new QualityRun(tokRef, List.of(ref), text, 16, 0, 1, false).execute());
        assertTrue(vocab.getMessage().startsWith("vocabularies differ"), vocab.getMessage());

        var row = assertThrows(TinyrtException.class, () -> ModelSpec.parseRow("fp16", model));
        assertTrue(row.getMessage().contains("LABEL=DIR"), row.getMessage());
        var precision = assertThrows(TinyrtException.class, () -> ModelSpec.parseRow("x=@fp12", model));
        assertTrue(precision.getMessage().contains("unknown precision"), precision.getMessage());
    }

    @Test
    void rowSpecs() {
        assertEquals(new ModelSpec("bf16", model, StoragePrecision.BF16), ModelSpec.parseRow("bf16=@bf16", model));
        assertEquals(new ModelSpec("awq", Path.of("out/awq"), StoragePrecision.AUTO),
                ModelSpec.parseRow("awq=out/awq", model));
        assertEquals(new ModelSpec("h", Path.of("d"), StoragePrecision.FP16), ModelSpec.parseRow("h=d@fp16", model));
        assertEquals("model fp32", ModelSpec.of(model, StoragePrecision.FP32).label());
    }

    /** A one-layer model with the Llama-2 vocabulary and tokenizer, context 128. */
    private static Path smallModelWithTokenizer() {
        Path dir = tmp.resolve("with-tokenizer");
        if (!Files.exists(dir.resolve("config.json"))) {
            LlamaConfig config = new LlamaConfig(32000, 32, 64, 1, 2, 1, 16, 128, 1e-5f, 10000.0, true, "float32", 1,
                    List.of(2));
            RandomCheckpoint.write(config, new RandomCheckpoint.Options(3, DType.F32, 0.1, 0.1,
                    LlamaConfig.Spelling.HF4, Path.of("../data/tokenizer")), dir);
        }
        return dir;
    }
}
