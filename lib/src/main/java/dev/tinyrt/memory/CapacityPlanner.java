package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Locale;

/**
 * Answers "with this much memory, this precision and these request lengths, how many sequences run at once and
 * at what throughput?". Memory left after weights, activations and the runtime's own overhead becomes the KV pool;
 * the real scheduler runs the workload over that pool on a {@link ProxyScheduler}; a {@link StepTimeModel}
 * measured on the target device turns the proxy's steps into time.
 */
public final class CapacityPlanner {
    private final ProxyScheduler proxy;
    private final StepTimeModel steps;
    private final RunLimits limits;

    public CapacityPlanner(ProxyScheduler proxy, StepTimeModel steps, RunLimits limits) {
        this.proxy = proxy;
        this.steps = steps;
        this.limits = limits;
    }

    /**
     * @param memoryBytes   memory for the engine (device memory on a GPU)
     * @param fixedBytes    weights + activations + runtime overhead, measured
     * @param bytesPerToken KV bytes per token at the planned KV dtype
     */
    public record Question(String label, long memoryBytes, long fixedBytes, long bytesPerToken, Workload workload,
                           AllocationMode mode) {
        public long kvBudget() {
            return memoryBytes - fixedBytes;
        }
    }

    /**
     * @param limitedBy what stops more sequences from running: "kv-cache memory", "max_batch_size" or "requests"
     */
    /** @param predicted the proxy's run with predicted step times */
    public record Answer(Question question, RunResult predicted, String limitedBy) {
        public double predictedOutputTokensPerSecond() {
            return predicted.outputTokensPerSecond();
        }

        public ObjectNode toJson() {
            ObjectNode n = JsonNodeFactory.instance.objectNode();
            n.put("label", question.label());
            n.put("memory_bytes", question.memoryBytes());
            n.put("fixed_bytes", question.fixedBytes());
            n.put("kv_budget_bytes", question.kvBudget());
            n.put("bytes_per_token", question.bytesPerToken());
            n.put("kv_tokens", predicted.poolTokens());
            n.put("mode", question.mode().name());
            n.put("workload", question.workload().name());
            n.put("requests", question.workload().requests().size());
            n.put("max_concurrent", predicted.maxConcurrent());
            n.put("mean_concurrent", predicted.meanConcurrent());
            n.put("steps", predicted.steps().size());
            n.put("limited_by", limitedBy);
            n.put("predicted_wall_s", predicted.wallSeconds());
            n.put("predicted_output_tok_s", predictedOutputTokensPerSecond());
            return n;
        }
    }

    public Answer answer(Question q) {
        if (q.kvBudget() <= 0) {
            throw new dev.tinyrt.TinyrtException(String.format(Locale.ROOT, "%s: %,d bytes of memory do not even "
                    + "hold the model (%,d bytes of weights, activations and overhead)", q.label(), q.memoryBytes(),
                    q.fixedBytes()));
        }
        RunResult sim = proxy.simulate(q.workload(), q.mode(), limits, q.kvBudget(), q.bytesPerToken());
        return new Answer(q, steps.retime(sim), limitedBy(sim, limits));
    }

    /**
     * What kept requests waiting: memory, when a step had waiting requests, room in the batch and room in the
     * step's token budget; else a full batch (max_batch_size); else nothing (all requests ran at once).
     */
    static String limitedBy(RunResult sim, RunLimits limits) {
        boolean memory = false;
        boolean batch = false;
        for (RunResult.Step step : sim.steps()) {
            var s = step.stats();
            if (s.waiting() == 0) {
                continue;
            }
            if (s.sequences() >= limits.maxBatchSize()) {
                batch = true;
            } else if (s.prefillTokens() + s.decodeTokens() < limits.maxNumTokens() / 2) {
                memory = true;
            }
        }
        return memory ? "kv-cache memory" : batch ? "max_batch_size" : "requests";
    }
}
