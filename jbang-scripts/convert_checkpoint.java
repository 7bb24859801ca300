///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.TinyrtException;
import dev.tinyrt.checkpoint.BuildConfig;
import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.HfExporter;
import dev.tinyrt.checkpoint.TrtllmConverter;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.quant.CalibrationText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "convert_checkpoint", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Convert a HuggingFace Llama checkpoint into a TensorRT-LLM checkpoint (config.json + "
                + "rank0.safetensors), quantized as a build config says (configs/*.yaml, docs/configs.md).",
                "With --to-hf, convert a TensorRT-LLM checkpoint back to HuggingFace layout."})
public class convert_checkpoint implements Callable<Integer> {
    @Option(names = "--model", description = "HF checkpoint directory (with --to-hf: a TensorRT-LLM checkpoint)")
    Path model;
    @Option(names = "--config", description = "build config YAML, e.g. configs/tinyllama_int4_awq.yaml") Path config;
    @Option(names = "--out", required = true, description = "output directory (or file, with --write-calibration-text)")
    Path out;
    @Option(names = "--calib-data", description = "calibration text (overrides calibration.data)") Path calibData;
    @Option(names = "--to-hf", description = "convert a TensorRT-LLM checkpoint back to a HF checkpoint") boolean toHf;
    @Option(names = "--dequantize", description = "with --to-hf: write a quantized checkpoint's dequantized weights")
    boolean dequantize;
    @Option(names = "--write-calibration-text", paramLabel = "TRAIN_TXT",
            description = "cut the calibration text from the corpus' training split into --out and exit")
    Path trainText;

    public static void main(String... args) {
        CommandRunner.exit(new convert_checkpoint(), args);
    }

    @Override
    public Integer call() throws IOException {
        if (trainText != null) {
            String text = CalibrationText.extract(Files.readString(trainText, StandardCharsets.UTF_8),
                    CalibrationText.DEFAULT_PASSAGES, CalibrationText.DEFAULT_PASSAGE_CHARS);
            Files.writeString(out, text, StandardCharsets.UTF_8);
            System.out.printf("wrote %s: %,d bytes%n", out, Files.size(out));
            return 0;
        }
        if (model == null) {
            throw new TinyrtException("--model is required");
        }
        if (toHf) {
            LlamaConfig c = HfExporter.export(model, out, dequantize);
            System.out.printf("wrote HF checkpoint %s: %d layers, hidden %d, %s%n", out, c.numLayers(),
                    c.hiddenSize(), c.torchDtype());
            return 0;
        }
        if (config == null) {
            throw new TinyrtException("--config is required (a build config such as configs/tinyllama_fp16.yaml)");
        }
        BuildConfig build = BuildConfigLoader.load(config);
        TrtllmConverter.Result r = TrtllmConverter.convert(model, build, calibData, out);
        var q = r.config().quantization();
        System.out.printf("wrote TensorRT-LLM checkpoint %s: dtype %s, quant_algo %s, kv_cache_quant_algo %s%n", out,
                r.config().dtype(), q.algo().trtllmName(), q.kvCache().trtllmName());
        if (!r.awq().isEmpty()) {
            double awq = 0;
            double rtn = 0;
            for (var a : r.awq()) {
                awq += a.loss();
                rtn += a.rtnLoss();
            }
            System.out.printf("AWQ: summed output error %.4g vs %.4g for round-to-nearest (%.1f%% lower) over %d "
                    + "linear layers%n", awq, rtn, 100 * (1 - awq / rtn), r.awq().size());
        }
        return 0;
    }
}
