package dev.tinyrt.memory;

import dev.tinyrt.backend.KvCacheDtype;

import dev.tinyrt.TinyrtException;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link MemoryAnalysis} measures and with what.
 *
 * @param model              HF checkpoint directory (the source of every precision), or {@code null} with engine
 * @param engine             a TensorRT-LLM checkpoint directory to analyse as it is, or {@code null}
 * @param precisions         weight precisions to break down; the first is the one the runs use
 * @param budgetBytes        KV budget of the comparison runs; 0: room for 8 sequences of max_seq_len
 * @param dataset            trtllm-bench dataset replacing the lognormal mix, or {@code null}
 * @param lognormal          lengths of the mix; {@code null}: ShareGPT's shape scaled to max_seq_len
 * @param lengthScale        factor on the mix's medians (shorter runs on slow machines)
 * @param fixedLengths       input and output tokens of the fixed-length workload
 * @param systemPromptTokens shared prefix of the prefix-reuse runs; 0: max_seq_len / 8
 * @param maxSeqLen          0: the model's context
 * @param activationTokens   tokens of the measured activation step; 0: max_seq_len
 * @param verifyFactors      KV budgets (× budgetBytes) at which the planner is checked against real runs
 * @param sweepFactors       KV budgets (× budgetBytes) of the concurrency-vs-budget sweep (scheduler on a proxy)
 * @param planMemoryBytes    memory sizes to plan for (empty: the device's total memory, if there is a device)
 * @param calibration        calibration text for precisions that need it, or {@code null}
 * @param work               scratch directory (converted checkpoints)
 */
public record AnalysisSettings(Path model, Path engine, String backend, int threads, List<WeightPrecision> precisions,
                               long budgetBytes, Path dataset, int requests, long seed, Workloads.Lognormal lognormal,
                               double lengthScale,
                               int[] fixedLengths, List<Integer> blockSizes, int systemPromptTokens, int maxBatchSize,
                               int maxSeqLen, int activationTokens, List<Double> verifyFactors,
                               List<Double> sweepFactors, List<Long> planMemoryBytes, Path calibration, Path work,
                               KvCacheDtype kvCacheDtype) {

    public AnalysisSettings(Path model, Path engine, String backend, int threads, List<WeightPrecision> precisions,
                            long budgetBytes, Path dataset, int requests, long seed, Workloads.Lognormal lognormal,
                            double lengthScale, int[] fixedLengths, List<Integer> blockSizes, int systemPromptTokens,
                            int maxBatchSize, int maxSeqLen, int activationTokens, List<Double> verifyFactors,
                            List<Double> sweepFactors, List<Long> planMemoryBytes, Path calibration, Path work) {
        this(model, engine, backend, threads, precisions, budgetBytes, dataset, requests, seed, lognormal, lengthScale,
                fixedLengths, blockSizes, systemPromptTokens, maxBatchSize, maxSeqLen, activationTokens, verifyFactors,
                sweepFactors, planMemoryBytes, calibration, work, KvCacheDtype.AUTO);
    }

    public AnalysisSettings {
        if ((model == null) == (engine == null)) {
            throw new TinyrtException("give either --model DIR (a HF checkpoint) or --engine DIR (a TensorRT-LLM "
                    + "checkpoint)");
        }
        precisions = List.copyOf(precisions);
        blockSizes = List.copyOf(blockSizes);
        verifyFactors = List.copyOf(verifyFactors);
        sweepFactors = List.copyOf(sweepFactors);
        planMemoryBytes = List.copyOf(planMemoryBytes);
        if (precisions.isEmpty()) {
            throw new TinyrtException("give at least one --precision");
        }
        if (requests < 1) {
            throw new TinyrtException("--requests must be >= 1, got " + requests);
        }
        if (lengthScale <= 0) {
            throw new TinyrtException("--length-scale must be > 0, got " + lengthScale);
        }
        if (budgetBytes < 0) {
            throw new TinyrtException("--budget-gib must be > 0");
        }
        if (fixedLengths.length != 2 || fixedLengths[0] < 1 || fixedLengths[1] < 1) {
            throw new TinyrtException("--fixed takes INPUT,OUTPUT token counts, both >= 1");
        }
        for (int b : blockSizes) {
            if (b < 1) {
                throw new TinyrtException("block sizes must be >= 1, got " + b);
            }
        }
    }

    /** The settings as the result document records them. */
    public com.fasterxml.jackson.databind.node.ObjectNode toJson() {
        var n = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        n.put("backend", backend);
        n.put("threads", threads);
        var p = n.putArray("precisions");
        precisions.forEach(x -> p.add(x.label()));
        n.put("budget_bytes", budgetBytes);
        n.put("dataset", dataset == null ? null : dataset.toString());
        n.put("requests", requests);
        n.put("seed", seed);
        n.put("length_scale", lengthScale);
        n.put("fixed_input", fixedLengths[0]);
        n.put("fixed_output", fixedLengths[1]);
        var b = n.putArray("block_sizes");
        blockSizes.forEach(b::add);
        n.put("system_prompt_tokens", systemPromptTokens);
        n.put("max_batch_size", maxBatchSize);
        n.put("max_seq_len", maxSeqLen);
        n.put("activation_tokens", activationTokens);
        var v = n.putArray("verify_factors");
        verifyFactors.forEach(v::add);
        var w = n.putArray("sweep_factors");
        sweepFactors.forEach(w::add);
        var m = n.putArray("plan_memory_bytes");
        planMemoryBytes.forEach(m::add);
        return n;
    }

    public static AnalysisSettings defaults(Path model, Path engine, Path work) {
        return new AnalysisSettings(model, engine, "cpu", 0, List.of(WeightPrecision.AUTO, WeightPrecision.FP32,
                WeightPrecision.FP16, WeightPrecision.BF16, WeightPrecision.INT8, WeightPrecision.INT4), 0, null, 64,
                1, null, 1.0, new int[]{128, 128}, List.of(8, 16, 32, 64, 128), 0, 256, 0, 0, List.of(0.5, 2.0),
                List.of(0.25, 0.5, 1.0, 2.0, 4.0), List.of(), null, work);
    }
}
