package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.checkpoint.RandomCheckpoint;
import dev.tinyrt.cli.CommandRunner;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;
import dev.tinyrt.runtime.SamplingParams;
import dev.tinyrt.runtime.TokenListener;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Runs in a child JVM whose loader finds the fake driver and cuBLAS (lib/src/test/native) instead of NVIDIA's: drives
 * every CUDA code path tinyrt has — engines on the parity checkpoints (fp16, bf16 conversion, tied heads, head dims
 * 16 and 32), graph recording and replay, the Generator and observer paths, and the GPU check tools themselves —
 * then asks the fakes whether any launch or GEMM was malformed and whether everything allocated was released.
 * Numbers are meaningless here (kernels do not run); exit 0 when every structural check holds.
 */
public final class FakeDriverScenario {
    private static final List<String> failures = new ArrayList<>();

    public static void main(String... args) throws Throwable {
        Path tmp = Files.createTempDirectory("tinyrt-fake-cuda");
        check(CudaDevice.get().name().contains("Fake"), "the fake driver is the one loaded: " + CudaDevice.get().name());
        for (String dir : new String[]{"src/test/resources/parity/mha-untied-fp16-hf4",
                "src/test/resources/parity/gqa-tied-bf16-hf5", "../data/models/tinyrt-12m"}) {
            engine(Path.of(dir));
        }
        for (KvCacheDtype kv : new KvCacheDtype[]{KvCacheDtype.INT8, KvCacheDtype.FP8}) {
            quantizedKv(Path.of("../data/models/tinyrt-12m"), kv);
        }
        check(CommandRunner.run(new CudaLeakCheck(), "--model", "../data/models/tinyrt-12m", "--cycles", "5",
                "--tolerance-mib", "0") == 0, "leak check on the fake driver");
        int selftest = CommandRunner.run(new CudaSelfTest(), "--tmp", tmp.resolve("st").toString(), "--out",
                tmp.resolve("selftest.json").toString());
        JsonNode st = new ObjectMapper().readTree(tmp.resolve("selftest.json").toFile());
        int checks = 0;
        for (JsonNode c : st.get("checks")) {
            checks++;
            check(!c.get("name").asText().contains("(exception)"), "self-test raised: " + c.get("note").asText());
        }
        check(selftest == 0 || selftest == 1, "self-test exit " + selftest);
        check(checks > 250, "self-test ran " + checks + " checks");
        Path tiny = tmp.resolve("tiny");
        RandomCheckpoint.write(RandomCheckpoint.preset("tiny"), new RandomCheckpoint.Options(1,
                dev.tinyrt.io.DType.F16, 0.02, 0, dev.tinyrt.model.LlamaConfig.Spelling.HF4, null), tiny);
        Path speedJson = tmp.resolve("speed.json");
        check(CommandRunner.run(new CudaSpeed(), "--model", tiny.toString(), "--prompt-len", "20", "--new-tokens", "12",
                "--repeats", "1", "--ttft-repeats", "2", "--warmup", "1", "--profile-steps", "2",
                "--cpu-check-tokens", "4", "--bandwidth-bytes", "16777216", "--out", speedJson.toString()) == 0,
                "cuda_speed exit code");
        JsonNode speed = new ObjectMapper().readTree(speedJson.toFile());
        for (Iterator<Map.Entry<String, JsonNode>> it = speed.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            check(!e.getKey().endsWith("_error"), "cuda_speed section failed: " + e.getKey() + " " + e.getValue());
        }
        check("done".equals(speed.path("status").asText()), "cuda_speed finished");
        check(speed.path("profile").path("decode").path("kernels_per_step").asInt() > 10, "profiled decode kernels");
        check(speed.path("profile").path("prefill").path("kernels_per_step").asInt() > 10, "profiled prefill kernels");
        check(speed.path("tactics").size() == 25, "tactic rows: " + speed.path("tactics").size());

        String driver = report("libcuda.so.1", "fake_report");
        String blas = report(null, "fake_cublas_report");
        System.out.println("[fake] " + driver + " " + blas);
        for (String zero : new String[]{"device_allocations", "device_bytes", "host_allocations", "events", "streams",
                "graphs", "graph_execs", "invalid", "unknown_functions", "cublas_handles", "cublas_invalid"}) {
            check(value(driver + " " + blas, zero) == 0, zero + " = " + value(driver + " " + blas, zero));
        }
        check(value(driver, "replays") > 0, "graphs were replayed");
        check(value(blas, "gemms") > 0, "cuBLAS was used");
        check(value(driver, "kernels_used") >= 40, "kernels used: " + value(driver, "kernels_used"));
        check(value(driver, "pdl_launches") > 0, "programmatic dependent launches were used");
        check(speed.path("decode").has("graphs_no_pdl"), "decode timed with PDL off too");
        System.out.println(failures.isEmpty() ? "FAKE-DRIVER SCENARIO PASSED" : "FAKE-DRIVER SCENARIO FAILED: "
                + failures);
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    private static void engine(Path dir) {
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            check(m.backend() instanceof CudaBackend, "cuda backend");
            CudaBackend b = (CudaBackend) m.backend();
            LlamaModel model = m.model();
            int vocab = m.config().vocabSize();
            int[] prompt = new int[37];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = (i * 7 + 1) % vocab;
            }
            float[][] logits = model.promptLogits(prompt);
            check(logits.length == prompt.length && logits[0].length == vocab, dir + ": logits shape");
            GreedyDecode.Result r = GreedyDecode.run(model, prompt, 10);
            check(r.tokens().length == 10, dir + ": tokens");
            GreedyDecode.run(model, prompt, 10);
            check(b.graphReplays() > 10, dir + ": graph replays " + b.graphReport());
            var g = m.generator().generate(prompt, SamplingParams.greedy(5).withIgnoreEos(true), TokenListener.NONE);
            check(g.outputIds().length == 5, dir + ": generator");
            List<Integer> seen = new ArrayList<>();
            model.observe((layer, linear, rows) -> seen.add(layer));
            model.lastLogits(new int[]{1, 2, 3});
            model.observe(null);
            check(seen.size() == 4 * m.config().numLayers() + 1, dir + ": observer saw " + seen.size());
            b.useGraphs(false);
            GreedyDecode.run(model, prompt, 4);
            b.useGraphs(true);
        } catch (RuntimeException e) {
            e.printStackTrace(System.out);
            failures.add(dir + ": " + e);
        }
    }

    /**
     * An int8/fp8 KV cache end to end: the quantized kernels' launches, graphs, the generator. Fixed scales: the fake
     * computes nothing, so calibrated ones would be meaningless.
     */
    private static void quantizedKv(Path dir, KvCacheDtype kv) {
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cuda", StoragePrecision.AUTO, 0))) {
            float[] scales = new float[m.config().numLayers()];
            java.util.Arrays.fill(scales, 0.05f);
            m.model().useKvCacheFormat(KvCacheFormat.quantized(kv, scales));
            check(m.kvCache().format().dtype() == kv, dir + ": model KV dtype " + m.kvCache().format());
            int[] prompt = new int[37];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = (i * 7 + 1) % m.config().vocabSize();
            }
            check(m.model().promptLogits(prompt).length == prompt.length, dir + " " + kv + ": prompt logits");
            check(GreedyDecode.run(m.model(), prompt, 10).tokens().length == 10, dir + " " + kv + ": greedy");
            check(GreedyDecode.run(m.model(), prompt, 10).tokens().length == 10, dir + " " + kv + ": replay");
            var g = m.generator().generate(prompt, SamplingParams.greedy(5).withIgnoreEos(true), TokenListener.NONE);
            check(g.outputIds().length == 5, dir + " " + kv + ": generator");
        } catch (RuntimeException e) {
            e.printStackTrace(System.out);
            failures.add(dir + " " + kv + ": " + e);
        }
    }

    static String report(String library, String function) throws Throwable {
        SymbolLookup lookup = library != null ? SymbolLookup.libraryLookup(library, Arena.global())
                : SymbolLookup.libraryLookup(Path.of(System.getenv("CUDA_HOME"), "lib64", "libcublas.so.13"),
                Arena.global());
        MethodHandle h = Linker.nativeLinker().downcallHandle(lookup.find(function).orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1024);
            int n = (int) h.invokeExact(buf, 1024);
            return buf.getString(0).substring(0, Math.min(n, 1023));
        }
    }

    static long value(String report, String key) {
        for (String part : report.split(" ")) {
            if (part.startsWith(key + "=")) {
                return Long.parseLong(part.substring(key.length() + 1));
            }
        }
        throw new IllegalArgumentException(key + " not in " + report);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            failures.add(what);
            System.out.println("[fake] CHECK FAILED: " + what);
        }
    }
}
