package dev.tinyrt.backend.cpu;

import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.engine.LoadedModel;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.model.StoragePrecision;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Times prefill and greedy-free decode steps of a model directory in one JVM, cold first then warm, so JIT
 * warm-up and steady-state speed show separately. Not a test: run it by hand, e.g.
 * {@code java ... dev.tinyrt.backend.cpu.EngineBench /tmp/models/tinyllama-1.1b 2 128 32 5}
 * (model dir, threads, prompt tokens, decode steps, repetitions).
 */
public final class EngineBench {
    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        int promptLength = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        int reps = Integer.parseInt(args[4]);
        long loadStart = System.nanoTime();
        try (LoadedModel m = LoadedModel.open(dir, new LoadedModel.Options("cpu", StoragePrecision.AUTO, threads))) {
            System.out.printf("load %.0f ms%n", (System.nanoTime() - loadStart) / 1e6);
            LlamaModel model = m.model();
            int vocab = model.config().vocabSize();
            int[] prompt = new int[promptLength];
            for (int i = 0; i < promptLength; i++) {
                prompt[i] = 3 + i * 37 % (vocab - 1000);
            }
            int blockSize = 32;
            int blocks = (promptLength + steps + blockSize - 1) / blockSize;
            int[] table = new int[blocks];
            Arrays.setAll(table, i -> i);
            double[] prefillMs = new double[reps];
            double[] decodeTokS = new double[reps];
            for (int rep = 0; rep < reps; rep++) {
                try (KvCache cache = m.backend().kvCache(model.config(), blocks, blockSize)) {
                    int[] positions = new int[promptLength];
                    Arrays.setAll(positions, i -> i);
                    long t0 = System.nanoTime();
                    float[][] logits = model.forward(new StepBatch(prompt, positions,
                            List.of(new StepBatch.Chunk(0, promptLength, promptLength, table)),
                            new int[]{promptLength - 1}), cache);
                    long t1 = System.nanoTime();
                    int next = argmax(logits[0]);
                    for (int s = 0; s < steps; s++) {
                        int pos = promptLength + s;
                        logits = model.forward(new StepBatch(new int[]{next}, new int[]{pos},
                                List.of(new StepBatch.Chunk(0, 1, pos + 1, table)), new int[]{0}), cache);
                        next = argmax(logits[0]);
                    }
                    long t2 = System.nanoTime();
                    prefillMs[rep] = (t1 - t0) / 1e6;
                    decodeTokS[rep] = steps / ((t2 - t1) / 1e9);
                    System.out.printf("rep %d: prefill %d tokens %.0f ms (%.1f tok/s), decode %.2f tok/s, last token %d%n",
                            rep, promptLength, prefillMs[rep], promptLength / (prefillMs[rep] / 1e3), decodeTokS[rep], next);
                }
            }
            if (reps > 2) {
                double[] p = Arrays.copyOfRange(prefillMs, 1, reps);
                double[] d = Arrays.copyOfRange(decodeTokS, 1, reps);
                Arrays.sort(p);
                Arrays.sort(d);
                System.out.printf("warm median (reps 1..%d): prefill %.0f ms (%.1f tok/s), decode %.2f tok/s%n",
                        reps - 1, p[p.length / 2], promptLength / (p[p.length / 2] / 1e3), d[d.length / 2]);
            }
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
