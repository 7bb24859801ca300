package dev.tinyrt.runtime;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A submitted request: its tokens as a {@link Flow.Publisher} (each subscriber gets the tokens generated after it
 * subscribed), the full result as a future, and cancellation. The future fails with a
 * {@link dev.tinyrt.TinyrtException} when the request is rejected.
 */
public final class RequestHandle {
    private final long id;
    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();
    private final SubmissionPublisher<TokenEvent> publisher;
    private final AtomicBoolean cancelRequested = new AtomicBoolean();
    private final Runnable wakeUp;

    RequestHandle(long id, int bufferCapacity, Runnable wakeUp) {
        this.id = id;
        // A buffer as large as the whole output: publishing never blocks the engine, whatever the consumer does.
        this.publisher = new SubmissionPublisher<>(java.util.concurrent.ForkJoinPool.commonPool(),
                Math.max(16, Integer.highestOneBit(Math.max(1, bufferCapacity)) << 1));
        this.wakeUp = wakeUp;
    }

    public long id() {
        return id;
    }

    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    public Flow.Publisher<TokenEvent> tokens() {
        return publisher;
    }

    /** Stops generation at the next step; the result then has finish reason CANCELLED and its blocks are freed. */
    public void cancel() {
        if (cancelRequested.compareAndSet(false, true)) {
            wakeUp.run();
        }
    }

    boolean cancelRequested() {
        return cancelRequested.get();
    }

    void publish(int token, String text) {
        if (publisher.hasSubscribers()) {
            publisher.offer(new TokenEvent(id, token, text), (s, e) -> false);
        }
    }

    void complete(GenerationResult r) {
        publisher.close();
        result.complete(r);
    }

    void fail(Throwable t) {
        publisher.closeExceptionally(t);
        result.completeExceptionally(t);
    }
}
