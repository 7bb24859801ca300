///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.bench.ModelPreparation;
import dev.tinyrt.checkpoint.TrtllmConfig;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.engine.TokenIds;
import dev.tinyrt.model.StoragePrecision;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.runtime.BatchFile;
import dev.tinyrt.runtime.BatchRun;
import dev.tinyrt.runtime.Executor;
import dev.tinyrt.runtime.ExecutorConfig;
import dev.tinyrt.runtime.GenerationJson;
import dev.tinyrt.runtime.GenerationResult;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "inference_engine", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate text with the tinyrt engine from a model directory.")
public class inference_engine implements Callable<Integer> {
    @Option(names = "--model", description = "HF or TensorRT-LLM checkpoint directory (default: the bundled trained model)")
    Path model;
    @Option(names = "--engine", description = "engine directory from build_engine.java") Path engine;

    static class Prompt {
        @Option(names = "--prompt", required = true, description = "prompt text") String text;
        @Option(names = "--prompt-ids", required = true, description = "prompt token ids, e.g. 1,450,7483") String ids;
        @Option(names = "--batch-file", required = true,
                description = "JSON lines: {\"prompt\"|\"input_ids\", optional max_new_tokens and sampling fields}")
        Path batchFile;
    }

    @ArgGroup(multiplicity = "1") Prompt prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64") int maxNewTokens;
    @Option(names = "--greedy", description = "always pick the most likely token (the default)") boolean greedy;
    @Option(names = "--temperature", description = "sample with this temperature (0 = greedy)") Float temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "keep the k most likely tokens (0 = all)") int topK;
    @Option(names = "--top-p", defaultValue = "1.0", description = "nucleus sampling threshold") float topP;
    @Option(names = "--repetition-penalty", defaultValue = "1.0") float repetitionPenalty;
    @Option(names = "--seed", description = "sampling seed") Long seed;
    @Option(names = "--stop", description = "stop string (repeatable)") List<String> stop = List.of();
    @Option(names = "--ignore-eos", description = "keep generating past end-of-sequence") boolean ignoreEos;
    @Option(names = "--backend", defaultValue = "cpu", description = "cpu, cuda or auto") String backend;
    @Option(names = "--precision", defaultValue = "auto", description = "weights: auto (as stored), fp32, fp16, bf16, or "
            + "int8, int4, int4_awq, w8a8_sq, fp8 (a HF model is converted with configs/tinyllama_<p>.yaml, cached)")
    String precision;
    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0 = one per core)") int threads;
    @Option(names = "--kv-cache-dtype", defaultValue = "auto", description = "KV-cache storage: auto (the checkpoint's "
            + "kv_cache_quant_algo, else the backend's own: fp32 on CPU, fp16 on CUDA), fp16, fp32, int8, fp8 (int8/fp8 "
            + "scales from the checkpoint, else calibrated on data/calibration/calib.txt)")
    String kvCacheDtype;
    @Option(names = "--logprobs", defaultValue = "0", description = "top-K log-probabilities per generated token") int logprobs;
    @Option(names = "--stream", description = "print tokens as they are generated") boolean stream;
    @Option(names = "--output-json", description = "write ids, text, logprobs and timings here (JSON lines for a batch)")
    Path outputJson;
    @Option(names = "--max-batch-size", defaultValue = "64", description = "batch: sequences per step") int maxBatch;
    @Option(names = "--max-num-tokens", defaultValue = "2048", description = "batch: tokens per step") int maxTokens;
    @Option(names = "--kv-cache-tokens", description = "batch: KV-cache capacity (default: from free memory)")
    Integer kvTokens;
    @Option(names = "--kv-cache-free-gpu-mem-fraction", defaultValue = "0.9",
            description = "batch on CUDA: share of free GPU memory the KV cache may take (default: 0.9)")
    double kvFraction;
    @Option(names = "--tokens-per-block", defaultValue = "32") int tokensPerBlock;
    @Option(names = "--no-prefix-reuse", description = "batch: do not share cached prompt blocks") boolean noPrefix;

    public static void main(String... args) {
        CommandRunner.exit(new inference_engine(), args);
    }

    @Override
    public Integer call() throws Exception {
        if (greedy && temperature != null && temperature > 0) {
            throw new TinyrtException("--greedy and --temperature " + temperature + " contradict each other");
        }
        if (model != null && engine != null) {
            throw new TinyrtException("give --model or --engine, not both");
        }
        Path dir = engine != null ? engine : model != null ? model : ProjectHome.defaultModel();
        if (engine != null && !dev.tinyrt.engine.EngineDir.isEngine(engine)) {
            throw new TinyrtException(engine + " is not an engine directory (config.json with pretrained_config and "
                    + "build_config); build one with build_engine.java");
        }
        boolean quantized = ModelPreparation.isQuantized(precision);
        if (quantized) {
            String p = ModelPreparation.normalize(precision);
            // a HF model quantized on the fly, as benchmark.java does: converted once into the cache
            if (engine != null || TrtllmConfig.isCheckpoint(dir)) {
                throw new TinyrtException("--precision " + p + " converts a HuggingFace model; " + dir
                        + " is already converted: drop --precision");
            }
            var prepared = ModelPreparation.prepare(dir, null, p, backend, threads);
            System.err.println("note: " + p + " checkpoint " + prepared.dir());
            dir = prepared.dir();
        }
        // a converted checkpoint keeps its stored forms; otherwise --precision picks the weight storage
        var options = new LoadedModel.Options(backend, quantized ? StoragePrecision.AUTO
                : StoragePrecision.parse(precision), threads, KvCacheDtype.parse(kvCacheDtype));
        try (LoadedModel m = LoadedModel.open(dir, options)) {
            if (prompt.batchFile != null) {
                return runBatch(m);
            }
            int[] ids;
            if (prompt.text != null) {
                if (prompt.text.isEmpty()) {
                    throw new TinyrtException("empty prompt: give --prompt some text");
                }
                ids = m.requireTokenizer().encode(prompt.text);
            } else {
                ids = TokenIds.parse(prompt.ids);
            }
            SamplingParams params = defaults();
            TokenListener listener = !stream ? TokenListener.NONE : (id, text) -> {
                System.out.print(m.tokenizer() == null ? id + " " : text);
                System.out.flush();
            };
            GenerationResult r = m.generator().generate(ids, params, listener);
            if (stream) {
                System.out.println();
            } else {
                System.out.println(r.text() != null ? r.text() : Arrays.toString(r.outputIds()));
            }
            System.err.printf("[%d prompt + %d new tokens, finish: %s, TTFT %.1f ms, decode %.1f tok/s]%n",
                    ids.length, r.outputIds().length, r.finishReason().name().toLowerCase(), r.ttftMs(), r.tokensPerS());
            if (outputJson != null) {
                GenerationJson.write(outputJson, r);
            }
        }
        return 0;
    }

    private SamplingParams defaults() {
        return new SamplingParams(temperature == null ? 0f : temperature, topK, topP, repetitionPenalty, seed,
                maxNewTokens, stop, ignoreEos, logprobs);
    }

    private int runBatch(LoadedModel m) throws java.io.IOException {
        var entries = BatchFile.read(prompt.batchFile, m.tokenizer(), defaults());
        ExecutorConfig d = m.defaultExecutorConfig(kvFraction);
        ExecutorConfig config = new ExecutorConfig(maxBatch, maxTokens, d.maxInputLen(),
                kvTokens != null ? kvTokens : d.kvCacheTokens(), tokensPerBlock, !noPrefix, d.policy());
        BatchRun.Outcome outcome;
        try (Executor executor = m.executor(config)) {
            outcome = BatchRun.run(executor, entries, stream ? System.out : null, m.tokenizer() != null);
        }
        ObjectMapper json = new ObjectMapper();
        StringBuilder lines = new StringBuilder();
        for (var line : outcome.lines()) {
            lines.append(json.writeValueAsString(line)).append('\n');
        }
        if (!stream) {
            System.out.print(lines);
        }
        if (outputJson != null) {
            java.nio.file.Files.writeString(outputJson, lines);
        }
        System.err.println(json.writeValueAsString(outcome.summary()));
        if (outcome.failed() > 0) {
            throw new TinyrtException(outcome.failed() + " of " + entries.size() + " requests failed (see their \"error\")");
        }
        return 0;
    }
}
