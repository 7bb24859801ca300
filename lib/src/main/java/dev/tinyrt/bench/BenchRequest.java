package dev.tinyrt.bench;

import java.util.Arrays;

/** One request of a benchmark workload: its prompt ids and how many tokens it must generate. */
public record BenchRequest(int taskId, int[] inputIds, int outputTokens) {
    public BenchRequest {
        inputIds = inputIds.clone();
        if (inputIds.length == 0) {
            throw new IllegalArgumentException("request " + taskId + " has no input ids");
        }
        if (outputTokens < 1) {
            throw new IllegalArgumentException("request " + taskId + " must generate at least one token");
        }
    }

    public int inputLength() {
        return inputIds.length;
    }

    @Override
    public int[] inputIds() {
        return inputIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BenchRequest r && r.taskId == taskId && r.outputTokens == outputTokens
                && Arrays.equals(r.inputIds, inputIds);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * taskId + outputTokens) + Arrays.hashCode(inputIds);
    }

    @Override
    public String toString() {
        return "BenchRequest[task " + taskId + ", " + inputIds.length + " in, " + outputTokens + " out]";
    }
}
