package dev.tinyrt.io.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local stand-in for the Hugging Face hub, on 127.0.0.1, speaking the protocol huggingface_hub relies on:
 * <ul>
 * <li>{@code GET /api/models/{repo}/revision/{rev}?blobs=true}: {@code sha} and {@code siblings} with
 * {@code rfilename}, {@code size}, {@code blobId} and, for LFS files, {@code lfs.sha256/size/pointerSize};</li>
 * <li>{@code HEAD|GET /{repo}/resolve/{rev}/{file}}: plain files answer 200 with {@code ETag} = git blob sha1;
 * LFS files answer 302 to a second server (the "CDN", another origin) with {@code X-Linked-Etag} = sha256,
 * {@code X-Linked-Size}, and an {@code ETag}/{@code Content-Length} of the redirect itself;
 * {@code X-Repo-Commit} on both;</li>
 * <li>{@code Range: bytes=N-} answered with 206 and {@code Content-Range};</li>
 * <li>errors with {@code X-Error-Code} RepoNotFound / RevisionNotFound / EntryNotFound / GatedRepo.</li>
 * </ul>
 * Faults can be injected per file: drop the connection after N bytes, stall, corrupt the content, ignore
 * ranges, answer 503. Every request is logged with its Range header and the body bytes actually sent.
 */
public final class FakeHub implements AutoCloseable {
    public record Request(String server, String method, String path, String range, String authorization,
                          long bodyBytes) {
        public boolean isGet() {
            return method.equals("GET");
        }
    }

    /** A model repository with one commit ({@code main} points to it). */
    public static final class Repo {
        final String id;
        final String commit;
        final Map<String, byte[]> files = new LinkedHashMap<>();
        final Map<String, Boolean> lfs = new LinkedHashMap<>();
        String token;
        boolean gated;

        Repo(String id, String commit) {
            this.id = id;
            this.commit = commit;
        }

        public Repo file(String name, byte[] content) {
            files.put(name, content);
            lfs.put(name, false);
            return this;
        }

        public Repo lfsFile(String name, byte[] content) {
            files.put(name, content);
            lfs.put(name, true);
            return this;
        }

        /** Only requests with {@code Authorization: Bearer token} see it; others get 401 like a private repo. */
        public Repo privateWithToken(String value) {
            token = value;
            return this;
        }

        /** Like {@link #privateWithToken} but answers as a gated repository (X-Error-Code: GatedRepo). */
        public Repo gatedWithToken(String value) {
            token = value;
            gated = true;
            return this;
        }

        public String commit() {
            return commit;
        }
    }

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-hub");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, Repo> bySha256 = new ConcurrentHashMap<>();
    private final List<LogEntry> log = new CopyOnWriteArrayList<>();
    private final Map<String, long[]> drops = new ConcurrentHashMap<>(); // file -> {afterBytes, timesLeft}
    private final Map<String, long[]> stalls = new ConcurrentHashMap<>(); // file -> {afterBytes, millis, timesLeft}
    private final Map<String, AtomicInteger> unavailable = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private volatile boolean ignoreRanges;

    private FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.setExecutor(executor);
        cdn.setExecutor(executor);
        hub.createContext("/", ex -> handle(ex, "hub"));
        cdn.createContext("/", ex -> handle(ex, "cdn"));
        hub.start();
        cdn.start();
    }

    public static FakeHub start() throws IOException {
        return new FakeHub();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    private String cdnBase() {
        return "http://127.0.0.1:" + cdn.getAddress().getPort();
    }

    public Repo addRepo(String id) {
        String commit = HexFormat.of().formatHex(sha("SHA-1", id.getBytes(StandardCharsets.UTF_8)));
        Repo repo = new Repo(id, commit);
        repos.put(id, repo);
        return repo;
    }

    public List<Request> requests() {
        return log.stream().map(e -> new Request(e.server, e.method, e.path, e.range, e.authorization,
                e.bodyBytes.get())).toList();
    }

    /** A logged request; the body byte count grows while the answer is written. */
    private record LogEntry(String server, String method, String path, String range, String authorization,
                            AtomicLong bodyBytes) {
    }

    public void clearLog() {
        log.clear();
    }

    /** The next {@code times} GETs of the file's bytes send {@code afterBytes} and then close the connection. */
    public void dropConnection(String file, long afterBytes, int times) {
        drops.put(file, new long[]{afterBytes, times});
    }

    /** The next GET of the file's bytes sends {@code afterBytes}, then stays silent for {@code millis}. */
    public void stall(String file, long afterBytes, long millis) {
        stalls.put(file, new long[]{afterBytes, millis, 1});
    }

    /** The next {@code times} GETs of the file answer 503. */
    public void unavailable(String file, int times) {
        unavailable.put(file, new AtomicInteger(times));
    }

    /** Serve the file with one byte flipped (every time). */
    public void corrupt(String file) {
        corrupt.put(file, true);
    }

    /** Answer ranged requests with 200 and the whole file, as a server without range support does. */
    public void ignoreRanges(boolean value) {
        ignoreRanges = value;
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
        executor.shutdownNow();
    }

    public static byte[] randomBytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    public static String sha256Hex(byte[] content) {
        return HexFormat.of().formatHex(sha("SHA-256", content));
    }

    /** The id git gives a file's content: sha1 of "blob {size}\0" + content. This is a plain file's ETag. */
    public static String gitBlobSha1(byte[] content) {
        byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[header.length + content.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(content, 0, all, header.length, content.length);
        return HexFormat.of().formatHex(sha("SHA-1", all));
    }

    private static byte[] lfsPointer(byte[] content) {
        return ("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256Hex(content) + "\nsize "
                + content.length + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    private void handle(HttpExchange ex, String server) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        Headers in = ex.getRequestHeaders();
        LogEntry entry = new LogEntry(server, method, path, in.getFirst("Range"), in.getFirst("Authorization"),
                new AtomicLong());
        log.add(entry);
        if (server.equals("cdn")) {
            serveCdn(ex, path, entry);
        } else if (path.startsWith("/api/models/")) {
            serveApi(ex, path.substring("/api/models/".length()));
        } else if (path.contains("/resolve/")) {
            serveResolve(ex, path, entry);
        } else {
            error(ex, 404, null, "Not Found");
        }
        // Only a normal end closes the exchange: a fault throws instead, which makes the server drop the socket.
        ex.close();
    }

    private void serveApi(HttpExchange ex, String rest) throws IOException {
        int at = rest.indexOf("/revision/");
        String repoId = at < 0 ? rest : rest.substring(0, at);
        String revision = at < 0 ? "main" : decode(rest.substring(at + "/revision/".length()));
        Repo repo = accessibleRepo(ex, repoId);
        if (repo == null) {
            return;
        }
        if (!revision.equals("main") && !revision.equals(repo.commit)) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode().put("id", repo.id).put("modelId", repo.id).put("sha", repo.commit);
        ArrayNode siblings = root.putArray("siblings");
        repo.files.forEach((name, content) -> {
            ObjectNode s = siblings.addObject().put("rfilename", name);
            if (repo.lfs.get(name)) {
                byte[] pointer = lfsPointer(content);
                s.put("blobId", gitBlobSha1(pointer)).put("size", content.length);
                s.putObject("lfs").put("sha256", sha256Hex(content)).put("size", content.length)
                        .put("pointerSize", pointer.length);
            } else {
                s.put("blobId", gitBlobSha1(content)).put("size", content.length);
            }
        });
        byte[] body = json.writeValueAsBytes(root);
        ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    private void serveResolve(HttpExchange ex, String path, LogEntry entry) throws IOException {
        int at = path.indexOf("/resolve/");
        String repoId = path.substring(1, at);
        String rest = path.substring(at + "/resolve/".length());
        int slash = rest.indexOf('/');
        String revision = decode(rest.substring(0, slash));
        String file = decode(rest.substring(slash + 1));
        Repo repo = accessibleRepo(ex, repoId);
        if (repo == null) {
            return;
        }
        if (!revision.equals("main") && !revision.equals(repo.commit)) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        byte[] content = repo.files.get(file);
        if (content == null) {
            error(ex, 404, "EntryNotFound", file + " does not exist on \"" + revision + "\"");
            return;
        }
        Headers out = ex.getResponseHeaders();
        out.add("X-Repo-Commit", repo.commit);
        if (repo.lfs.get(file)) {
            String sha = sha256Hex(content);
            bySha256.put(sha, repo);
            byte[] redirectBody = ("Found. Redirecting to " + cdnBase() + "/cdn/" + sha).getBytes(StandardCharsets.UTF_8);
            out.add("Location", cdnBase() + "/cdn/" + sha + "?expires=never");
            out.add("ETag", "W/\"" + gitBlobSha1(redirectBody).substring(0, 20) + "\"");
            out.add("X-Linked-Etag", "\"" + sha + "\"");
            out.add("X-Linked-Size", Long.toString(content.length));
            sendFixed(ex, 302, redirectBody);
            return;
        }
        out.add("ETag", "\"" + gitBlobSha1(content) + "\"");
        serveContent(ex, file, content, entry);
    }

    private void serveCdn(HttpExchange ex, String path, LogEntry entry) throws IOException {
        String sha = path.substring(path.lastIndexOf('/') + 1);
        Repo repo = bySha256.get(sha);
        if (repo == null) {
            error(ex, 403, null, "AccessDenied");
            return;
        }
        String file = repo.files.entrySet().stream().filter(e -> sha256Hex(e.getValue()).equals(sha))
                .map(Map.Entry::getKey).findFirst().orElseThrow();
        ex.getResponseHeaders().add("ETag", "\"" + sha + "\"");
        ex.getResponseHeaders().add("Content-Disposition", "inline; filename=\"" + file + "\";");
        serveContent(ex, file, repo.files.get(file), entry);
    }

    /** Serves bytes with HEAD/Range support and the injected faults. */
    private void serveContent(HttpExchange ex, String file, byte[] original, LogEntry entry) throws IOException {
        byte[] content = original;
        if (corrupt.containsKey(file)) {
            content = original.clone();
            content[content.length / 2] ^= 0x5a;
        }
        Headers out = ex.getResponseHeaders();
        out.add("Accept-Ranges", "bytes");
        if (ex.getRequestMethod().equals("HEAD")) {
            out.add("Content-Length", Long.toString(content.length));
            ex.sendResponseHeaders(200, -1);
            return;
        }
        AtomicInteger failures = unavailable.get(file);
        if (failures != null && failures.getAndDecrement() > 0) {
            error(ex, 503, null, "Service Unavailable");
            return;
        }
        int start = 0;
        int status = 200;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && !ignoreRanges) {
            Matcher m = RANGE.matcher(range);
            if (!m.matches()) {
                error(ex, 400, null, "bad range");
                return;
            }
            start = Integer.parseInt(m.group(1));
            if (start >= content.length) {
                out.add("Content-Range", "bytes */" + content.length);
                sendFixed(ex, 416, new byte[0]);
                return;
            }
            status = 206;
            out.add("Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
        }
        int length = content.length - start;
        ex.sendResponseHeaders(status, length);
        OutputStream body = ex.getResponseBody();
        long[] drop = drops.get(file);
        long[] stall = stalls.get(file);
        if (drop != null && drop[1] > 0) {
            drop[1]--;
            int n = (int) Math.min(drop[0], length);
            writeLogged(body, content, start, n, entry);
            throw new IOException("fake hub: dropping the connection after " + n + " bytes");
        }
        if (stall != null && stall[2] > 0) {
            stall[2]--;
            int n = (int) Math.min(stall[0], length);
            writeLogged(body, content, start, n, entry);
            try {
                Thread.sleep(stall[1]);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("fake hub: giving up a stalled connection");
        }
        writeLogged(body, content, start, length, entry);
    }

    private static void writeLogged(OutputStream body, byte[] content, int start, int n, LogEntry entry)
            throws IOException {
        body.write(content, start, n);
        body.flush();
        entry.bodyBytes().addAndGet(n);
    }

    /** The repo if it exists and the request may see it; otherwise the error answer has been sent. */
    private Repo accessibleRepo(HttpExchange ex, String repoId) throws IOException {
        Repo repo = repos.get(decode(repoId));
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (repo != null && repo.token != null && !("Bearer " + repo.token).equals(auth)) {
            if (repo.gated) {
                error(ex, auth == null ? 401 : 403, "GatedRepo",
                        "Access to model " + repo.id + " is restricted. You must have access to it and be authenticated to access it. Please log in.");
            } else {
                error(ex, 401, "RepoNotFound", "Invalid username or password.");
            }
            return null;
        }
        if (repo == null) {
            error(ex, auth == null ? 401 : 404, "RepoNotFound", "Repository not found");
        }
        return repo;
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().add("X-Error-Code", code);
        }
        ex.getResponseHeaders().add("X-Error-Message", message);
        byte[] body = ("{\"error\":\"" + message.replace("\"", "'") + "\"}").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        sendFixed(ex, status, body);
    }

    private static void sendFixed(HttpExchange ex, int status, byte[] body) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        ex.getResponseBody().write(body);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static byte[] sha(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
