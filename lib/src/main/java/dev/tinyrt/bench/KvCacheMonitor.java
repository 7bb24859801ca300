package dev.tinyrt.bench;

import dev.tinyrt.runtime.StepStats;

import java.util.function.Consumer;

/** Accumulates the executor's per-step KV-cache statistics into {@link KvCacheStats} (called on the engine thread). */
final class KvCacheMonitor implements Consumer<StepStats> {
    private final int capacityTokens;
    private final int tokensPerBlock;
    private final int totalBlocks;
    private int peakUsed;
    private double sumUtilization;
    private double sumFragmentation;
    private long steps;

    KvCacheMonitor(int capacityTokens, int tokensPerBlock, int totalBlocks) {
        this.capacityTokens = capacityTokens;
        this.tokensPerBlock = tokensPerBlock;
        this.totalBlocks = totalBlocks;
    }

    @Override
    public synchronized void accept(StepStats s) {
        peakUsed = Math.max(peakUsed, s.blocksUsed());
        sumUtilization += (double) s.blocksUsed() / totalBlocks;
        sumFragmentation += s.fragmentation();
        steps++;
    }

    synchronized KvCacheStats stats() {
        return new KvCacheStats(capacityTokens, tokensPerBlock, totalBlocks, peakUsed, (double) peakUsed / totalBlocks,
                steps == 0 ? 0 : sumUtilization / steps, steps == 0 ? 0 : sumFragmentation / steps, steps);
    }
}
