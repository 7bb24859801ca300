package dev.tinyrt.runtime;

/** Why generation ended. */
public enum FinishReason {
    /** an end-of-sequence token */
    EOS,
    /** a stop string appeared in the text */
    STOP_STRING,
    /** max new tokens reached */
    LENGTH,
    /** the model's context (max_position_embeddings) is full */
    CONTEXT_FULL,
    /** the request was cancelled */
    CANCELLED
}
