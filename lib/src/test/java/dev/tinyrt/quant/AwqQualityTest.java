package dev.tinyrt.quant;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.backend.cpu.CpuBackend;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.TrtllmCheckpoint;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.io.Checkpoints;
import dev.tinyrt.io.TensorSource;
import dev.tinyrt.model.HfWeightLayout;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.model.WeightLayout;
import dev.tinyrt.tokenizer.LlamaTokenizer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AWQ against round-to-nearest INT4 (both group 128, same checkpoint layout) on the bundled tinyrt-12m: mean KL
 * divergence of next-token distributions from the fp16 model and perplexity, on windows of the held-out validation
 * text, computed with the CPU engine on dequantized weights. Calibration uses the training-split calib.txt.
 * Run: {@code mvn -f lib/pom.xml test -Dtest=AwqQualityTest -Dtinyrt.excluded.groups=none}
 * (-Dtinyrt.awq.samples=N for fewer calibration samples, -Dtinyrt.awq.clip=false for the scale search alone,
 * -Dtinyrt.awq.grid=1 for the clip search alone).
 */
@Tag("slow")
class AwqQualityTest {
    @TempDir
    Path tmp;

    @Test
    void awqBeatsRoundToNearestOnHeldOutText() throws IOException {
        Path home = ProjectHome.require();
        Path hf = home.resolve("data/models/tinyrt-12m");
        int samples = Integer.getInteger("tinyrt.awq.samples", 128);
        int windows = Integer.getInteger("tinyrt.eval.windows", 20);
        int windowLen = Integer.getInteger("tinyrt.eval.len", 256);
        boolean clip = Boolean.parseBoolean(System.getProperty("tinyrt.awq.clip", "true"));
        int grid = Integer.getInteger("tinyrt.awq.grid", 20);
        BuildConfig rtn = config("quantization:\n  algorithm: W4A16\n  group_size: 128\n");
        BuildConfig awq = config("quantization:\n  algorithm: W4A16_AWQ\n  group_size: 128\n  awq_clip: " + clip
                + "\n  awq_grid: " + grid + "\ncalibration:\n  data: "
                + home.resolve("data/calibration/calib.txt") + "\n  samples: " + samples + "\n  seq_len: 512\n");
        long t0 = System.nanoTime();
        TrtllmConverter.convert(hf, rtn, null, tmp.resolve("rtn"));
        TrtllmConverter.Result awqResult = TrtllmConverter.convert(hf, awq, null, tmp.resolve("awq"));
        long t1 = System.nanoTime();

        int[] stream;
        try (LlamaTokenizer tok = LlamaTokenizer.load(hf)) {
            stream = tok.encode(Files.readString(home.resolve("data/corpus/validation.txt")), false);
        }
        List<int[]> evalWindows = LogitDivergence.windows(stream, windows, windowLen, 1);
        LlamaConfig config = LlamaConfig.read(hf.resolve("config.json"));
        double[] klRtn = new double[1];
        double[] klAwq = new double[1];
        double[] nll = new double[3];
        try (TensorSource src = Checkpoints.open(hf);
             TrtllmCheckpoint rtnCkpt = TrtllmCheckpoint.open(tmp.resolve("rtn"));
             TrtllmCheckpoint awqCkpt = TrtllmCheckpoint.open(tmp.resolve("awq"));
             CpuBackend backend = new CpuBackend();
             LlamaModel ref = load(config, new HfWeightLayout(src, config), backend);
             LlamaModel mRtn = load(config, new DequantizedLayout(rtnCkpt.layout()), backend);
             LlamaModel mAwq = load(config, new DequantizedLayout(awqCkpt.layout()), backend)) {
            for (int[] w : evalWindows) {
                double[][] p = LogitDivergence.logProbs(ref, w);
                double[][] qr = LogitDivergence.logProbs(mRtn, w);
                double[][] qa = LogitDivergence.logProbs(mAwq, w);
                klRtn[0] += LogitDivergence.meanKl(p, qr) / windows;
                klAwq[0] += LogitDivergence.meanKl(p, qa) / windows;
                nll[0] += LogitDivergence.meanNll(p, w) / windows;
                nll[1] += LogitDivergence.meanNll(qr, w) / windows;
                nll[2] += LogitDivergence.meanNll(qa, w) / windows;
            }
        }
        double awqLoss = awqResult.awq().stream().mapToDouble(TrtllmConverter.AwqChoice::loss).sum();
        double rtnLoss = awqResult.awq().stream().mapToDouble(TrtllmConverter.AwqChoice::rtnLoss).sum();
        String report = String.format(Locale.ROOT, "tinyrt-12m INT4 g128, AWQ grid %d, clip search %s, "
                        + "%d calibration samples x 512 tokens, %d validation windows x %d tokens:%n"
                        + "  mean KL vs fp16: RTN %.5f, AWQ %.5f (%.1f%% lower)%n"
                        + "  perplexity: fp16 %.3f, RTN %.3f, AWQ %.3f%n  calibration-row output error summed over "
                        + "layers: RTN %.4g, AWQ %.4g%n  alphas: %s%n  conversion took %.0f s",
                grid, clip ? "on" : "off", samples, windows, windowLen, klRtn[0], klAwq[0],
                100 * (1 - klAwq[0] / klRtn[0]), Math.exp(nll[0]),
                Math.exp(nll[1]), Math.exp(nll[2]), rtnLoss, awqLoss,
                awqResult.awq().stream().map(a -> String.format(Locale.ROOT, "%.2f", a.alpha())).toList(),
                (t1 - t0) / 1e9);
        System.out.println(report);
        Files.writeString(Path.of("target", "awq-quality.txt"), report + "\n");
        assertTrue(klAwq[0] < klRtn[0], report);
    }

    private BuildConfig config(String yaml) throws IOException {
        Path p = Files.createTempFile(tmp, "cfg", ".yaml");
        Files.writeString(p, yaml);
        return BuildConfigLoader.load(p);
    }

    private static LlamaModel load(LlamaConfig config, WeightLayout layout, CpuBackend backend) {
        return LlamaModel.load(config, layout, backend, StoragePrecision.AUTO);
    }
}
