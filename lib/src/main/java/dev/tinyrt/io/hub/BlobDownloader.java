package dev.tinyrt.io.hub;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Brings one file's bytes into {@code blobs/{etag}.incomplete}, resuming from whatever is already there — after a
 * dropped connection within this run, or left by an earlier run that crashed — with {@code Range: bytes=N-}.
 * A 206 answer must start at N; a 200 answer (server ignored the range) restarts the file from zero.
 */
final class BlobDownloader {
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final HubClient client;
    private final ProgressSink progress;

    BlobDownloader(HubClient client, ProgressSink progress) {
        this.client = client;
        this.progress = progress;
    }

    /** Returns once {@code incomplete} holds exactly {@code meta.size()} bytes. */
    void download(String fileName, FileMetadata meta, Path incomplete, HubErrors.Target target) {
        long size = meta.size();
        long have = sizeOf(incomplete);
        if (have > size) {
            have = truncate(incomplete);
        }
        int failures = 0;
        try (ProgressSink.Transfer bar = progress.start(fileName, size, have)) {
            while (have < size) {
                long before = have;
                try {
                    have = fetch(meta.location(), incomplete, have, target, bar);
                    if (have > size) {
                        truncate(incomplete);
                        throw new HubException(HubException.Kind.INTEGRITY, "the server sent more than the "
                                + size + " bytes announced for " + fileName + "; the download was discarded");
                    }
                    if (have < size) {
                        throw new EOFException("connection closed after " + have + " of " + size + " bytes");
                    }
                } catch (IOException e) {
                    have = sizeOf(incomplete);
                    // A failure after progress starts a fresh count: a flaky but moving transfer keeps going.
                    failures = have > before ? 1 : failures + 1;
                    if (failures > client.options().maxRetries()) {
                        throw new HubException(HubException.Kind.UNREACHABLE, "download of " + fileName
                                + " stopped at " + have + " of " + size + " bytes after " + failures
                                + " failed attempt(s) (" + e.getMessage() + "); run the command again to resume", e);
                    }
                    Backoff.sleep(client.options().retryBackoff(), failures, e);
                }
            }
        }
    }

    /** One GET from {@code have} on; returns the file's size afterwards. */
    private long fetch(URI location, Path incomplete, long have, HubErrors.Target target, ProgressSink.Transfer bar)
            throws IOException {
        HttpResponse<Flow.Publisher<List<ByteBuffer>>> response = client.getBody(location, have, target);
        boolean append;
        switch (response.statusCode()) {
            case 206 -> {
                long start = rangeStart(response);
                if (start != have) {
                    discard(response);
                    truncate(incomplete);
                    throw new IOException("server resumed at byte " + start + " instead of " + have + "; restarting");
                }
                append = true;
            }
            case 200 -> {
                append = false;
                have = 0;
            }
            default -> { // 416: the server disagrees about what we hold; start over
                discard(response);
                truncate(incomplete);
                throw new IOException("server refused the range from byte " + have + " (HTTP 416); restarting");
            }
        }
        bar.position(have);
        // The body is subscribed first so that it is always consumed or cancelled, whatever fails next.
        try (BodyChunks chunks = new BodyChunks(response.body(), client.options().readTimeout());
             FileChannel out = openForWriting(incomplete, append)) {
            for (List<ByteBuffer> chunk = chunks.next(); chunk != null; chunk = chunks.next()) {
                have += write(out, chunk, incomplete);
                bar.position(have);
            }
        }
        return have;
    }

    /** Local file failures are not network failures: they surface at once instead of being retried. */
    private static FileChannel openForWriting(Path file, boolean append) {
        try {
            Files.createDirectories(file.getParent());
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long write(FileChannel out, List<ByteBuffer> chunk, Path file) {
        long written = 0;
        try {
            for (ByteBuffer buffer : chunk) {
                while (buffer.hasRemaining()) {
                    written += out.write(buffer);
                }
            }
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static long rangeStart(HttpResponse<?> response) throws IOException {
        String header = response.headers().firstValue("Content-Range").orElse("");
        Matcher m = CONTENT_RANGE.matcher(header.strip());
        if (!m.matches()) {
            discard(response);
            throw new IOException("206 answer without a usable Content-Range ('" + header + "')");
        }
        return Long.parseLong(m.group(1));
    }

    private static void discard(HttpResponse<?> response) {
        if (response.body() instanceof Flow.Publisher<?> body) {
            new BodyChunks(castBody(body), Duration.ofSeconds(1)).close();
        }
    }

    @SuppressWarnings("unchecked")
    private static Flow.Publisher<List<ByteBuffer>> castBody(Flow.Publisher<?> body) {
        return (Flow.Publisher<List<ByteBuffer>>) body;
    }

    private static long sizeOf(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long truncate(Path file) {
        try {
            Files.deleteIfExists(file);
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
