package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.runtime.StepStats;

import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * One workload served through the executor with one allocation mode: the KV pool it was given (computed and as
 * measured), what every step did to the pool, and what came out. Averages over steps are weighted by step time,
 * so they are averages over the run's duration.
 *
 * @param steps           every executor step with its start offset from the first submission
 * @param poolMeasured    the KV pool's bytes as the process (or device) measured them when the executor started
 * @param prefixHitBlocks full prompt blocks that came from the prefix cache
 */
public record RunResult(String workload, AllocationMode mode, long budgetBytes, long bytesPerToken, int numBlocks,
                        List<Step> steps, Measured poolMeasured, long wallNanos, int requests, long promptTokens,
                        long outputTokens, long prefixHitBlocks) {

    /** A step's statistics and when it ended, in nanoseconds after the first submission. */
    public record Step(long atNanos, StepStats stats) {
    }

    public RunResult {
        steps = List.copyOf(steps);
    }

    public int blockSize() {
        return mode.tokensPerBlock();
    }

    public long poolTokens() {
        return (long) numBlocks * blockSize();
    }

    /** The pool as computed: whole blocks × tokens per block × bytes per token. */
    public long poolComputedBytes() {
        return poolTokens() * bytesPerToken;
    }

    public int maxConcurrent() {
        return steps.stream().mapToInt(s -> s.stats().sequences()).max().orElse(0);
    }

    public double meanConcurrent() {
        return timeWeighted(s -> s.sequences());
    }

    public long peakAllocatedBytes() {
        return steps.stream().mapToLong(s -> (long) s.stats().blocksUsed() * blockSize()).max().orElse(0)
                * bytesPerToken;
    }

    public double meanAllocatedBytes() {
        return timeWeighted(s -> (double) s.blocksUsed() * blockSize()) * bytesPerToken;
    }

    /** Bytes of the tokens sequences hold (tokens of a shared prefix count once per sequence). */
    public double meanUsedBytes() {
        return timeWeighted(s -> s.usedTokens()) * bytesPerToken;
    }

    /** Held tokens per allocated token slot over the run; above 1 only when sequences share prefix blocks. */
    public double utilization() {
        double allocated = meanAllocatedBytes();
        return allocated == 0 ? 0 : meanUsedBytes() / allocated;
    }

    /** Share of the allocated slots that hold no token (1 − utilization), without prefix sharing. */
    public double internalFragmentation() {
        return 1 - utilization();
    }

    /** Mean allocated KV bytes per sequence in flight. */
    public double allocatedBytesPerSequence() {
        double seqs = meanConcurrent();
        return seqs == 0 ? 0 : meanAllocatedBytes() / seqs;
    }

    public double wallSeconds() {
        return wallNanos / 1e9;
    }

    public double outputTokensPerSecond() {
        return outputTokens / wallSeconds();
    }

    public long prefillTokens() {
        return steps.stream().mapToLong(s -> s.stats().prefillTokens()).sum();
    }

    /** Prompt tokens computed again because a preempted sequence started over (MAX_UTILIZATION). */
    public long recomputedPromptTokens() {
        return Math.max(0, prefillTokens() - (promptTokens - prefixHitBlocks * blockSize()));
    }

    public int peakSharedBlocks() {
        return steps.stream().mapToInt(s -> s.stats().blocksShared()).max().orElse(0);
    }

    /** Steps in which every used block belonged to exactly one running sequence (the standard-allocation check). */
    public long stepsWithOneBlockPerSequence() {
        return steps.stream().filter(s -> s.stats().blocksUsed() == s.stats().sequences()).count();
    }

    /** Steps in which more blocks were in use than sequences ran: never, when each sequence holds one block. */
    public long stepsWithMoreBlocksThanSequences() {
        return steps.stream().filter(s -> s.stats().blocksUsed() > s.stats().sequences()).count();
    }

    private double timeWeighted(ToDoubleFunction<StepStats> f) {
        double sum = 0;
        double time = 0;
        for (Step s : steps) {
            sum += f.applyAsDouble(s.stats()) * s.stats().nanos();
            time += s.stats().nanos();
        }
        return time == 0 ? 0 : sum / time;
    }

    public ObjectNode toJson(boolean withTimeline) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("workload", workload);
        n.put("mode", mode.name());
        n.put("allocation", mode.standard() ? "standard" : "paged");
        n.put("tokens_per_block", blockSize());
        n.put("policy", mode.policyName());
        n.put("prefix_caching", mode.prefixCaching());
        n.put("budget_bytes", budgetBytes);
        n.put("bytes_per_token", bytesPerToken);
        n.put("blocks", numBlocks);
        n.put("pool_tokens", poolTokens());
        n.put("pool_computed_bytes", poolComputedBytes());
        n.set("pool_measured", poolMeasured.toJson());
        n.put("requests", requests);
        n.put("prompt_tokens", promptTokens);
        n.put("output_tokens", outputTokens);
        n.put("steps", steps.size());
        n.put("wall_s", wallSeconds());
        n.put("output_tok_s", outputTokensPerSecond());
        n.put("max_concurrent", maxConcurrent());
        n.put("mean_concurrent", meanConcurrent());
        n.put("peak_allocated_bytes", peakAllocatedBytes());
        n.put("mean_allocated_bytes", meanAllocatedBytes());
        n.put("mean_used_bytes", meanUsedBytes());
        n.put("utilization", utilization());
        n.put("internal_fragmentation", internalFragmentation());
        n.put("allocated_bytes_per_sequence", allocatedBytesPerSequence());
        n.put("prefill_tokens", prefillTokens());
        n.put("recomputed_prompt_tokens", recomputedPromptTokens());
        n.put("prefix_hit_blocks", prefixHitBlocks);
        n.put("peak_shared_blocks", peakSharedBlocks());
        n.put("steps_one_block_per_sequence", stepsWithOneBlockPerSequence());
        n.put("steps_more_blocks_than_sequences", stepsWithMoreBlocksThanSequences());
        if (withTimeline) {
            n.set("timeline", timeline());
        }
        return n;
    }

    /** Per-step columns: end time (ms), sequences, blocks used/free/shared, held tokens, waiting requests. */
    public ObjectNode timeline() {
        ObjectNode t = JsonNodeFactory.instance.objectNode();
        ArrayNode at = t.putArray("t_ms");
        ArrayNode seqs = t.putArray("sequences");
        ArrayNode used = t.putArray("blocks_used");
        ArrayNode free = t.putArray("blocks_free");
        ArrayNode shared = t.putArray("blocks_shared");
        ArrayNode tokens = t.putArray("used_tokens");
        ArrayNode waiting = t.putArray("waiting");
        for (Step s : steps) {
            at.add(Math.round(s.atNanos() / 1e4) / 100.0);
            seqs.add(s.stats().sequences());
            used.add(s.stats().blocksUsed());
            free.add(s.stats().blocksFree());
            shared.add(s.stats().blocksShared());
            tokens.add(s.stats().usedTokens());
            waiting.add(s.stats().waiting());
        }
        return t;
    }
}
