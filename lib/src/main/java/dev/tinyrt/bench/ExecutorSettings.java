package dev.tinyrt.bench;

import dev.tinyrt.runtime.ExecutorConfig;

/** The executor limits a point ran with, in TensorRT-LLM's names. */
public record ExecutorSettings(int maxBatchSize, int maxNumTokens, int kvCacheTokens, int tokensPerBlock,
                               boolean prefixCaching, String schedulerPolicy) {

    public static ExecutorSettings of(ExecutorConfig c) {
        return new ExecutorSettings(c.maxBatchSize(), c.maxNumTokens(), c.kvCacheTokens(), c.tokensPerBlock(),
                c.prefixCaching(), c.policy().name());
    }
}
