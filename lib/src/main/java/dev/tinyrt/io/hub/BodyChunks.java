package dev.tinyrt.io.hub;

import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads a response body chunk by chunk with a stall timeout. java.net.http only times out the wait for the
 * headers; a connection that stays open but stops sending would otherwise block a download forever.
 */
final class BodyChunks implements Flow.Subscriber<List<ByteBuffer>>, AutoCloseable {
    private static final Object END = new Object();

    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Duration stallTimeout;
    private volatile Flow.Subscription subscription;
    private volatile boolean finished;

    BodyChunks(Flow.Publisher<List<ByteBuffer>> body, Duration stallTimeout) {
        this.stallTimeout = stallTimeout;
        body.subscribe(this);
    }

    /** The next chunk, or null at the end of the body; throws if the connection broke or stalled. */
    List<ByteBuffer> next() throws IOException {
        if (finished) {
            return null;
        }
        Object item;
        try {
            item = queue.poll(stallTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading", e);
        }
        if (item == null) {
            close();
            throw new HttpTimeoutException("no data received for " + stallTimeout.toMillis() + " ms");
        }
        if (item == END) {
            finished = true;
            return null;
        }
        if (item instanceof Throwable t) {
            finished = true;
            throw t instanceof IOException io ? io : new IOException(t.getMessage(), t);
        }
        subscription.request(1);
        @SuppressWarnings("unchecked")
        List<ByteBuffer> chunk = (List<ByteBuffer>) item;
        return chunk;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (finished) {
            s.cancel();
        } else {
            s.request(1);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        queue.add(item);
    }

    @Override
    public void onError(Throwable error) {
        queue.add(error);
    }

    @Override
    public void onComplete() {
        queue.add(END);
    }

    /** Stops the transfer (releases the connection) when the caller gives up before the end. */
    @Override
    public void close() {
        if (!finished && subscription != null) {
            subscription.cancel();
        }
        finished = true;
    }
}
