package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.model.LlamaConfig;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The points of a run: every input length × batch size × batching mode, with synthetic requests
 * ({@link TokenNormDist}) or a dataset's. Requests depend only on the seed, the input length and their number, so
 * every system and every batch size with the same request count serves the same prompts.
 */
public final class Workloads {
    private Workloads() {
    }

    /** Token ids a synthetic prompt never contains: 0 (UNK in Llama vocabularies), BOS and every EOS. */
    public static Set<Integer> specialIds(LlamaConfig c) {
        Set<Integer> s = new HashSet<>(c.eosTokenIds());
        s.add(0);
        s.add(c.bosTokenId());
        return s;
    }

    public static List<PointPlan> synthetic(LlamaConfig c, List<Integer> batchSizes, List<Integer> inputLens,
                                           int outputLen, Integer requests, Integer concurrency, double inputStdev,
                                           double outputStdev, List<Batching> modes, long seed) {
        List<PointPlan> points = new ArrayList<>();
        Set<Integer> specials = specialIds(c);
        int context = c.maxPositionEmbeddings();
        for (int in : inputLens) {
            for (int bs : batchSizes) {
                int conc = concurrency != null ? concurrency : bs;
                int n = requests != null ? requests : conc;
                check(bs > 0 && conc > 0 && n > 0 && in > 0 && outputLen > 0,
                        "batch sizes, concurrency, requests and lengths must be > 0");
                // bounded so that no drawn length overflows the model's context
                int maxIn = inputStdev == 0 ? in : Math.max(1, context - outputLen);
                int maxOut = outputStdev == 0 ? outputLen : Math.max(1, context - in);
                check(in + outputLen <= context, "input " + in + " + output " + outputLen + " tokens exceed the "
                        + "model's context of " + context + " (max_position_embeddings); choose shorter --input-lens "
                        + "or --output-len");
                List<BenchRequest> reqs = new TokenNormDist(n, in, inputStdev, outputLen, outputStdev, 1, maxIn,
                        maxOut, c.vocabSize(), specials, seedFor(seed, in, n)).generate();
                for (Batching mode : modes) {
                    points.add(new PointPlan(mode, bs, conc, in, outputLen, reqs, warmup(c, conc, in, outputLen, seed)));
                }
            }
        }
        return points;
    }

    public static List<PointPlan> fromDataset(LlamaConfig c, List<BenchRequest> dataset, List<Integer> batchSizes,
                                             Integer requests, Integer concurrency, List<Batching> modes,
                                             long seed) {
        List<BenchRequest> reqs = requests == null ? dataset : dataset.subList(0, Math.min(requests, dataset.size()));
        for (BenchRequest r : reqs) {
            check(r.inputLength() + r.outputTokens() <= c.maxPositionEmbeddings(), "dataset request " + r.taskId()
                    + " needs " + (r.inputLength() + r.outputTokens()) + " positions but the model has "
                    + c.maxPositionEmbeddings());
            for (int id : r.inputIds()) {
                check(id < c.vocabSize(), "dataset request " + r.taskId() + " has token id " + id
                        + " outside the vocabulary of " + c.vocabSize());
            }
        }
        int in = (int) Math.round(reqs.stream().mapToInt(BenchRequest::inputLength).average().orElse(0));
        int out = (int) Math.round(reqs.stream().mapToInt(BenchRequest::outputTokens).average().orElse(0));
        List<PointPlan> points = new ArrayList<>();
        for (int bs : batchSizes) {
            int conc = concurrency != null ? concurrency : bs;
            for (Batching mode : modes) {
                points.add(new PointPlan(mode, bs, conc, in, out, reqs, warmup(c, conc, in, out, seed)));
            }
        }
        return points;
    }

    /** One wave of short requests of the point's prompt length, never measured. */
    private static List<BenchRequest> warmup(LlamaConfig c, int concurrency, int in, int out, long seed) {
        int warmOut = Math.min(out, EngineBenchmark.WARMUP_OUTPUT_TOKENS);
        return TokenNormDist.fixed(concurrency, in, warmOut, c.vocabSize(), specialIds(c), seedFor(seed, in, -concurrency))
                .generate();
    }

    static long seedFor(long seed, int inputLen, int requests) {
        return seed * 1_000_003L + inputLen * 1_009L + requests;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new TinyrtException(message);
        }
    }
}
