package dev.tinyrt.runtime;

/**
 * One generation request: prompt ids, how to sample and when to stop, and an optional callback that receives
 * tokens as they are generated (on the executor's thread: keep it quick).
 */
public record Request(int[] promptIds, SamplingParams params, TokenListener listener) {
    public Request {
        promptIds = promptIds.clone();
        listener = listener == null ? TokenListener.NONE : listener;
    }

    public Request(int[] promptIds, SamplingParams params) {
        this(promptIds, params, null);
    }
}
