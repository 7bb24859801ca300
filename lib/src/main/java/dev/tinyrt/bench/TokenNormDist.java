package dev.tinyrt.bench;

import dev.tinyrt.TinyrtException;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Synthetic requests as trtllm-bench's {@code prepare_dataset token-norm-dist} makes them
 * (tensorrt_llm/bench/dataset/utils.py): input and output lengths drawn from normal distributions and rounded up
 * ({@code max(1, ceil(x))}), prompts of random token ids that are never special (BOS, EOS, UNK, PAD). Standard
 * deviation 0 gives fixed lengths. Unlike trtllm-bench, input and output lengths come from independent streams
 * (it re-seeds numpy for each, so both get the same noise) and lengths can be bounded by {@code [min, max]}.
 * The same settings always give the same requests.
 */
public record TokenNormDist(int numRequests, int inputMean, double inputStdev, int outputMean, double outputStdev,
                            int minLength, int maxInput, int maxOutput, int vocabSize, Set<Integer> specialIds,
                            long seed) {

    public TokenNormDist {
        specialIds = Set.copyOf(specialIds);
        check(numRequests > 0, "number of requests must be > 0, got " + numRequests);
        check(inputMean > 0 && outputMean > 0, "input and output means must be > 0, got " + inputMean + " and "
                + outputMean);
        check(inputStdev >= 0 && outputStdev >= 0, "standard deviations must be >= 0");
        check(minLength >= 1, "minimum length must be >= 1, got " + minLength);
        check(maxInput >= minLength && maxOutput >= minLength, "maximum lengths must be >= the minimum " + minLength);
        check(vocabSize > specialIds.size(), "vocabulary of " + vocabSize + " has no ordinary token");
    }

    /** Fixed lengths, no bounds beyond the lengths themselves. */
    public static TokenNormDist fixed(int numRequests, int inputLen, int outputLen, int vocabSize,
                                      Set<Integer> specialIds, long seed) {
        return new TokenNormDist(numRequests, inputLen, 0, outputLen, 0, 1, inputLen, outputLen, vocabSize,
                specialIds, seed);
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new TinyrtException(message);
        }
    }

    public List<BenchRequest> generate() {
        return generate(0);
    }

    /**
     * As {@link #generate()}, but every prompt starts with the same {@code sharedPrefix} tokens (a system prompt,
     * for prefix reuse); the rest of each prompt is its own. Lengths still include the prefix, so a prefix must be
     * shorter than the shortest prompt that can be drawn.
     */
    public List<BenchRequest> generate(int sharedPrefix) {
        int shortest = inputStdev == 0 ? Math.min(maxInput, Math.max(minLength, inputMean)) : minLength;
        check(sharedPrefix >= 0 && (sharedPrefix == 0 || sharedPrefix < shortest), "shared prefix of " + sharedPrefix
                + " tokens must be shorter than every prompt (shortest possible: " + shortest + "; with a spread of"
                + " lengths raise --min-len above the prefix)");
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom inputLens = root.split();
        SplittableRandom outputLens = root.split();
        SplittableRandom ids = root.split();
        int[] ordinary = IntStream.range(0, vocabSize).filter(i -> !specialIds.contains(i)).toArray();
        // its own stream: the per-request tokens are the same with or without a prefix
        SplittableRandom prefixIds = root.split();
        int[] prefix = new int[sharedPrefix];
        for (int i = 0; i < sharedPrefix; i++) {
            prefix[i] = ordinary[prefixIds.nextInt(ordinary.length)];
        }
        List<BenchRequest> out = new ArrayList<>(numRequests);
        for (int task = 0; task < numRequests; task++) {
            int in = length(inputLens, inputMean, inputStdev, maxInput);
            int outLen = length(outputLens, outputMean, outputStdev, maxOutput);
            int[] prompt = new int[in];
            for (int i = 0; i < in; i++) {
                prompt[i] = ordinary[ids.nextInt(ordinary.length)];
            }
            System.arraycopy(prefix, 0, prompt, 0, sharedPrefix);
            out.add(new BenchRequest(task, prompt, outLen));
        }
        return out;
    }

    private int length(SplittableRandom r, int mean, double stdev, int max) {
        // drawn even when stdev is 0, so changing one stdev never shifts the other stream
        double x = mean + stdev * r.nextGaussian();
        return (int) Math.min(max, Math.max(minLength, Math.ceil(x)));
    }
}
