package dev.tinyrt.bench;

import dev.tinyrt.ProjectHome;
import dev.tinyrt.TinyrtException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The HuggingFace transformers baseline: environment/hf_baseline.py runs eager {@code generate()} on the same
 * model and the same requests (this class writes them as trtllm-bench datasets) and writes a
 * {@link BenchmarkReport} of its own, whose systems and results join tinyrt's.
 */
public final class HfBaseline {
    public static final String SCRIPT = "environment/hf_baseline.py";

    /** What hf_baseline.py reads with {@code bench --plan}. */
    public record Plan(String model, String device, int warmup, int repeats, int warmupOutputTokens, long seed,
                       List<PlanPoint> points) {
    }

    /** One static-batching point: waves of {@code concurrency} requests from {@code dataset}. */
    public record PlanPoint(int batchSize, int concurrency, int inputLen, int outputLen, String dataset,
                            String warmupDataset) {
    }

    private HfBaseline() {
    }

    /**
     * Fails with instructions when {@code python} cannot import torch and transformers.
     *
     * @param purpose what needs them, for the message ("--baseline hf")
     */
    public static void checkAvailable(String python, String purpose) {
        String problem;
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch, transformers").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                problem = "importing them took over 5 minutes";
            } else if (p.exitValue() == 0) {
                return;
            } else {
                List<String> lines = out.lines().toList();
                problem = lines.isEmpty() ? "exit code " + p.exitValue() : lines.getLast();
            }
        } catch (IOException e) {
            problem = "cannot run " + python + " (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            problem = "interrupted";
        }
        throw new TinyrtException(purpose + " needs " + python + " with torch and transformers (" + problem
                + "); install them with `pip install torch transformers` (CPU-only torch: add --index-url "
                + "https://download.pytorch.org/whl/cpu), or point --python at an interpreter that has them "
                + "(the GPU machine's python3 has both)");
    }

    /**
     * Writes the datasets and the plan into {@code workDir}, runs hf_baseline.py (its output echoed to
     * {@code console} and kept in {@code log}) and reads its report.
     */
    public static BenchmarkReport run(String python, Path model, List<PointPlan> points, int warmup, int repeats,
                                      long seed, Path workDir, Path log, PrintStream console) {
        try {
            Files.createDirectories(workDir);
            List<PlanPoint> planPoints = new ArrayList<>();
            for (PointPlan p : distinctStatic(points)) {
                String name = "bs" + p.batchSize() + "_c" + p.concurrency() + "_in" + p.inputLen() + "_out" + p.outputLen();
                Path data = workDir.resolve(name + ".jsonl");
                Path warm = workDir.resolve(name + "_warmup.jsonl");
                Datasets.write(data, p.requests());
                Datasets.write(warm, p.warmupRequests());
                planPoints.add(new PlanPoint(p.batchSize(), p.concurrency(), p.inputLen(), p.outputLen(),
                        data.toAbsolutePath().toString(), warm.toAbsolutePath().toString()));
            }
            Path plan = workDir.resolve("hf_plan.json");
            BenchmarkJson.MAPPER.writeValue(plan.toFile(), new Plan(model.toAbsolutePath().toString(), "auto", warmup,
                    repeats, EngineBenchmark.WARMUP_OUTPUT_TOKENS, seed, planPoints));
            Path out = workDir.resolve("hf_baseline.json");
            Path script = ProjectHome.require().resolve(SCRIPT);
            List<String> cmd = List.of(python, "-u", script.toString(), "bench", "--plan", plan.toString(), "--out",
                    out.toString());
            console.println("running the HF baseline: " + String.join(" ", cmd));
            int rc = runLogged(cmd, log, console);
            if (rc != 0) {
                throw new TinyrtException("the HF baseline failed (exit " + rc + "); its output is above, lines "
                        + "marked [hf]");
            }
            return BenchmarkJson.read(out);
        } catch (IOException e) {
            throw new TinyrtException("cannot prepare the HF baseline in " + workDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Runs one prompt through transformers' generate() (hf_baseline.py generate), its output going straight to this
     * process's stdout/stderr. Returns the script's exit code.
     */
    public static int generate(String python, Path model, String prompt, int maxNewTokens, boolean stream,
                               String device) {
        checkAvailable(python, "inference_hf.java");
        List<String> cmd = new ArrayList<>(List.of(python, "-u", ProjectHome.require().resolve(SCRIPT).toString(),
                "generate", "--model", model.toAbsolutePath().toString(), "--prompt", prompt, "--max-new-tokens",
                Integer.toString(maxNewTokens), "--device", device));
        if (stream) {
            cmd.add("--stream");
        }
        try {
            return new ProcessBuilder(cmd).inheritIO().start().waitFor();
        } catch (IOException e) {
            throw new TinyrtException("cannot run " + python + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TinyrtException("interrupted while transformers generated");
        }
    }

    /** HF has no in-flight batching: each (batch size, concurrency, lengths) runs once, in static waves. */
    static List<PointPlan> distinctStatic(List<PointPlan> points) {
        List<PointPlan> out = new ArrayList<>();
        for (PointPlan p : points) {
            boolean seen = out.stream().anyMatch(q -> q.batchSize() == p.batchSize()
                    && q.concurrency() == p.concurrency() && q.inputLen() == p.inputLen()
                    && q.outputLen() == p.outputLen() && q.requests().equals(p.requests()));
            if (!seen) {
                out.add(p);
            }
        }
        return out;
    }

    static int runLogged(List<String> cmd, Path log, PrintStream console) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             var w = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            for (String line; (line = r.readLine()) != null; ) {
                console.println("  [hf] " + line);
                w.write(line);
                w.newLine();
            }
        }
        try {
            return p.waitFor();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new TinyrtException("interrupted while the HF baseline ran");
        }
    }
}
