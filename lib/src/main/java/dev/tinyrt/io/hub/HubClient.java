package dev.tinyrt.io.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Flow;
import java.util.regex.Pattern;

/**
 * Speaks the hub's HTTP protocol: the model info API, HEAD on resolve URLs for file metadata, and ranged GETs
 * of file bodies. The token goes only to the hub itself, never to the CDN a large file redirects to. Requests
 * that fail on the way (connection refused or dropped, timeout, 5xx, 429) are retried with exponential backoff;
 * body transfers are retried by {@link BlobDownloader}, which knows how far it got.
 */
public final class HubClient implements AutoCloseable {
    private static final int MAX_REDIRECTS = 10;
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SAFE_ETAG = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

    /** A status that is worth trying again (5xx, 429), raised as an I/O failure so it joins the retry path. */
    static final class RetryableStatusException extends IOException {
        final int status;

        RetryableStatusException(int status, URI uri) {
            super("HTTP " + status + " from " + uri);
            this.status = status;
        }
    }

    private final HubOptions options;
    private final HubUrls urls;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();

    public HubClient(HubOptions options) {
        if (options.offline()) {
            throw new IllegalStateException("offline mode is on: the hub must not be contacted");
        }
        this.options = options;
        this.urls = new HubUrls(options.endpoint());
        this.http = HttpClient.newBuilder()
                .connectTimeout(options.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER) // redirects are followed by hand, see send()
                .build();
    }

    HubOptions options() {
        return options;
    }

    HubErrors.Target target(RepoId repo, String revision, String file) {
        return new HubErrors.Target(options.endpoint(), repo, revision, file, options.token().isPresent());
    }

    /** The commit {@code revision} points to and the files at that commit, with sizes and LFS sha256. */
    public RepoInfo modelInfo(RepoId repo, String revision) {
        URI uri = urls.modelInfo(repo, revision);
        HubErrors.Target target = target(repo, revision, null);
        HttpResponse<byte[]> response = withRetries(target,
                () -> send(request(uri, "GET").header("Accept", "application/json"),
                        HttpResponse.BodyHandlers.ofByteArray(), false));
        if (response.statusCode() != 200) {
            throw HubErrors.toException(response.statusCode(), response.headers(), response.uri(), target);
        }
        return parseModelInfo(response.body(), repo);
    }

    /**
     * HEAD on the resolve URL. Relative redirects (a renamed repository) are followed; an absolute one (the CDN
     * for LFS files) is not: its Location becomes the download address and the metadata come from it.
     */
    public FileMetadata fileMetadata(RepoId repo, String revision, String file) {
        URI uri = urls.resolve(repo, revision, file);
        HubErrors.Target target = target(repo, revision, file);
        HttpResponse<Void> r = withRetries(target, () -> send(request(uri, "HEAD")
                .header("Accept-Encoding", "identity"), HttpResponse.BodyHandlers.discarding(), false));
        int status = r.statusCode();
        if (status >= 400) {
            throw HubErrors.toException(status, r.headers(), r.uri(), target);
        }
        HttpHeaders h = r.headers();
        String etag = normalizeEtag(h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).orElseThrow(
                () -> new HubException(HubException.Kind.PROTOCOL, "the hub sent no ETag for " + uri
                        + ": cannot cache or verify " + file)));
        long size = h.firstValueAsLong("X-Linked-Size").orElseGet(() -> h.firstValueAsLong("Content-Length").orElse(-1));
        URI location = status < 300 ? r.uri() : r.uri().resolve(h.firstValue("Location").orElseThrow(
                () -> new HubException(HubException.Kind.PROTOCOL, "HTTP " + status + " without Location for " + uri)));
        String commit = h.firstValue("X-Repo-Commit").orElse(null);
        return new FileMetadata(commit, etag, size, location);
    }

    /**
     * One GET of a body starting at byte {@code from} (a {@code Range} request when from > 0), following
     * redirects. Returns 200, 206 or 416 answers; transient failures throw IOException for the caller to retry.
     */
    HttpResponse<Flow.Publisher<List<ByteBuffer>>> getBody(URI location, long from, HubErrors.Target target)
            throws IOException {
        HttpRequest.Builder request = request(location, "GET").header("Accept-Encoding", "identity");
        if (from > 0) {
            request.header("Range", "bytes=" + from + "-");
        }
        HttpResponse.BodyHandler<Flow.Publisher<List<ByteBuffer>>> handler = info -> info.statusCode() / 100 == 2
                ? HttpResponse.BodySubscribers.ofPublisher()
                : HttpResponse.BodySubscribers.replacing(null);
        HttpResponse<Flow.Publisher<List<ByteBuffer>>> r = send(request, handler, true);
        int status = r.statusCode();
        if (status == 200 || status == 206 || status == 416) {
            return r;
        }
        if (HubErrors.isRetryable(status)) {
            throw new RetryableStatusException(status, r.uri());
        }
        throw HubErrors.toException(status, r.headers(), r.uri(), target);
    }

    /** Aborts whatever is still in flight (close() would wait for it) and releases the connections. */
    @Override
    public void close() {
        http.shutdownNow();
    }

    private HttpRequest.Builder request(URI uri, String method) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(options.readTimeout())
                .header("User-Agent", "tinyrt-hub/0.1 java/" + Runtime.version().feature());
        if (urls.isHub(uri)) {
            options.token().ifPresent(t -> b.header("Authorization", "Bearer " + t));
        }
        return b;
    }

    /**
     * Sends, following redirects by hand so that the token is dropped on the way to another host: relative
     * (same-hub) redirects always, absolute ones only when {@code followAbsolute}.
     */
    private <T> HttpResponse<T> send(HttpRequest.Builder builder, HttpResponse.BodyHandler<T> handler,
                                     boolean followAbsolute) throws IOException {
        HttpRequest request = builder.build();
        for (int hop = 0; ; hop++) {
            HttpResponse<T> response;
            try {
                response = http.send(request, handler);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            int status = response.statusCode();
            Optional<String> location = response.headers().firstValue("Location");
            if (status < 300 || status > 399 || location.isEmpty() || hop >= MAX_REDIRECTS) {
                return response;
            }
            URI next = request.uri().resolve(location.get());
            boolean relative = URI.create(location.get()).getHost() == null;
            if (!relative && !followAbsolute) {
                return response;
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(next).method(request.method(),
                    HttpRequest.BodyPublishers.noBody()).timeout(options.readTimeout());
            request.headers().map().forEach((name, values) -> {
                if (!name.equalsIgnoreCase("Authorization") || urls.isHub(next)) {
                    values.forEach(v -> b.header(name, v));
                }
            });
            request = b.build();
        }
    }

    @FunctionalInterface
    private interface Attempt<T> {
        HttpResponse<T> run() throws IOException;
    }

    /** Runs an attempt until it yields a non-retryable answer or the retries run out. */
    private <T> HttpResponse<T> withRetries(HubErrors.Target target, Attempt<T> attempt) {
        for (int failures = 0; ; ) {
            IOException failure;
            try {
                HttpResponse<T> r = attempt.run();
                if (!HubErrors.isRetryable(r.statusCode()) || failures >= options.maxRetries()) {
                    return r;
                }
                failure = new RetryableStatusException(r.statusCode(), r.uri());
            } catch (IOException e) {
                failure = e;
                if (failures >= options.maxRetries()) {
                    throw unreachable(e, failures + 1);
                }
            }
            failures++;
            Backoff.sleep(options.retryBackoff(), failures, failure);
        }
    }

    HubException unreachable(IOException cause, int attempts) {
        String why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return new HubException(HubException.Kind.UNREACHABLE, "cannot reach " + options.endpoint() + " after "
                + attempts + " attempt(s): " + why + "; use --offline (or HF_HUB_OFFLINE=1) to work from the cache",
                cause);
    }

    private RepoInfo parseModelInfo(byte[] body, RepoId repo) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (IOException e) {
            throw new HubException(HubException.Kind.PROTOCOL, "the hub's answer for " + repo + " is not JSON", e);
        }
        String commit = root.path("sha").asText("");
        if (!COMMIT.matcher(commit).matches()) {
            throw new HubException(HubException.Kind.PROTOCOL,
                    "the hub's answer for " + repo + " has no commit sha (field 'sha')");
        }
        List<RepoFile> files = new ArrayList<>();
        for (JsonNode sibling : root.path("siblings")) {
            JsonNode lfs = sibling.path("lfs");
            Optional<String> sha256 = lfs.isObject()
                    ? Optional.of(lfs.path("sha256").asText("").toLowerCase(Locale.ROOT)).filter(s -> !s.isEmpty())
                    : Optional.empty();
            long size = lfs.isObject() && lfs.has("size") ? lfs.path("size").asLong(-1) : sibling.path("size").asLong(-1);
            files.add(new RepoFile(SafeNames.requireRelativePath(sibling.path("rfilename").asText("")), size, sha256));
        }
        return new RepoInfo(commit, files);
    }

    /** ETag header to a value usable as a file name: without {@code W/} and quotes, as huggingface_hub does. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        e = e.replace("\"", "");
        if (!SAFE_ETAG.matcher(e).matches()) {
            throw new HubException(HubException.Kind.PROTOCOL, "the hub sent an unusable ETag: " + etag);
        }
        return e;
    }

    static boolean isCommitHash(String revision) {
        return COMMIT.matcher(revision).matches();
    }
}
