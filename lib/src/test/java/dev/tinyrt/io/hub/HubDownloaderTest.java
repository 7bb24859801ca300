package dev.tinyrt.io.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubDownloaderTest {
    static final String REPO = "tiny-org/tiny-model";
    static final byte[] CONFIG = "{\"model_type\": \"llama\", \"hidden_size\": 64}\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] TOKENIZER = "{\"version\": \"1.0\"}\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] EXTRA = "a file in a folder\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] WEIGHTS = FakeHub.randomBytes(3 * 1024 * 1024 + 17, 42);
    static final String WEIGHTS_SHA = FakeHub.sha256Hex(WEIGHTS);

    @TempDir
    Path tmp;
    FakeHub hub;
    String commit;

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        commit = hub.addRepo(REPO)
                .file("config.json", CONFIG)
                .file("tokenizer.json", TOKENIZER)
                .file("sub/extra.txt", EXTRA)
                .lfsFile("model.safetensors", WEIGHTS)
                .commit();
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    HubOptions options() {
        return HubOptions.fromEnvironment(Map.of())
                .withEndpoint(hub.endpoint())
                .withCacheDir(tmp.resolve("cache"))
                .withQuiet(true)
                .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2))
                .withRetries(3, Duration.ofMillis(10));
    }

    Path download(HubOptions options, List<String> include, Path out) {
        try (HubDownloader d = new HubDownloader(options)) {
            return d.download(REPO, "main", include, out);
        }
    }

    Path repoDir() {
        return tmp.resolve("cache").resolve("models--tiny-org--tiny-model");
    }

    List<FakeHub.Request> bodyGets(String file) {
        return hub.requests().stream().filter(FakeHub.Request::isGet)
                .filter(r -> r.path().endsWith("/" + file) || (file.equals("model.safetensors")
                        && r.path().equals("/cdn/" + WEIGHTS_SHA))).toList();
    }

    @Test
    void downloadsSnapshotInHuggingfaceHubCacheLayout() throws IOException {
        Path snapshot = download(options(), List.of(), null);

        assertEquals(repoDir().resolve("snapshots").resolve(commit), snapshot);
        assertArrayEquals(CONFIG, Files.readAllBytes(snapshot.resolve("config.json")));
        assertArrayEquals(TOKENIZER, Files.readAllBytes(snapshot.resolve("tokenizer.json")));
        assertArrayEquals(EXTRA, Files.readAllBytes(snapshot.resolve("sub/extra.txt")));
        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        // Blobs are named by ETag: git blob sha1 for plain files, sha256 for LFS files; snapshots link to them.
        assertTrue(Files.isRegularFile(repoDir().resolve("blobs").resolve(WEIGHTS_SHA)));
        assertEquals(Path.of("../../blobs/" + WEIGHTS_SHA), Files.readSymbolicLink(snapshot.resolve("model.safetensors")));
        assertEquals(Path.of("../../../blobs/" + FakeHub.gitBlobSha1(EXTRA)),
                Files.readSymbolicLink(snapshot.resolve("sub/extra.txt")));
        assertEquals(commit, Files.readString(repoDir().resolve("refs/main")));
        try (var blobs = Files.list(repoDir().resolve("blobs"))) {
            assertEquals(4, blobs.count(), "no .incomplete files left behind");
        }
        // The LFS file came from the CDN after a HEAD on the hub; no token was configured, none was sent.
        assertEquals(1, bodyGets("model.safetensors").size());
        assertTrue(hub.requests().stream().allMatch(r -> r.authorization() == null));
    }

    @Test
    void finishesWithRangeRequestAfterConnectionDropsMidFile() throws IOException {
        hub.dropConnection("model.safetensors", 1_000_000, 1);

        Path snapshot = download(options(), List.of(), null);

        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        List<FakeHub.Request> gets = bodyGets("model.safetensors");
        assertEquals(2, gets.size(), gets.toString());
        assertNull(gets.get(0).range());
        assertEquals(1_000_000, gets.get(0).bodyBytes());
        assertEquals("bytes=1000000-", gets.get(1).range());
        assertEquals(WEIGHTS.length - 1_000_000, gets.get(1).bodyBytes());
    }

    @Test
    void rerunAfterCrashResumesTheIncompleteBlob() throws IOException {
        // What a killed run leaves: the first 1.2 MB in blobs/{etag}.incomplete, no blob, no snapshot entry.
        Path incomplete = repoDir().resolve("blobs").resolve(WEIGHTS_SHA + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, Arrays.copyOf(WEIGHTS, 1_200_000));

        Path snapshot = download(options(), List.of(), null);

        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertFalse(Files.exists(incomplete));
        List<FakeHub.Request> gets = bodyGets("model.safetensors");
        assertEquals(1, gets.size(), gets.toString());
        assertEquals("bytes=1200000-", gets.get(0).range());
        assertEquals(WEIGHTS.length - 1_200_000, gets.get(0).bodyBytes());
        assertTrue(gets.get(0).bodyBytes() < WEIGHTS.length);
    }

    @Test
    void restartsFromZeroWhenTheServerAnswersARangeWith200() throws IOException {
        Path incomplete = repoDir().resolve("blobs").resolve(WEIGHTS_SHA + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, Arrays.copyOf(WEIGHTS, 500_000));
        hub.ignoreRanges(true);

        Path snapshot = download(options(), List.of(), null);

        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        List<FakeHub.Request> gets = bodyGets("model.safetensors");
        assertEquals(1, gets.size());
        assertEquals("bytes=500000-", gets.get(0).range());
        assertEquals(WEIGHTS.length, gets.get(0).bodyBytes());
    }

    @Test
    void stalledTransferTimesOutAndResumes() throws IOException {
        hub.stall("model.safetensors", 700_000, 3_000);
        HubOptions options = options().withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(300));

        Path snapshot = download(options, List.of(), null);

        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        List<FakeHub.Request> gets = bodyGets("model.safetensors");
        assertEquals(2, gets.size(), gets.toString());
        assertEquals("bytes=700000-", gets.get(1).range());
    }

    @Test
    void retriesServerErrorsWithBackoff() throws IOException {
        hub.unavailable("config.json", 2);

        Path snapshot = download(options(), List.of("config.json"), null);

        assertArrayEquals(CONFIG, Files.readAllBytes(snapshot.resolve("config.json")));
        assertEquals(3, bodyGets("config.json").size());
    }

    @Test
    void corruptLfsContentIsRefusedAndNothingIsCached() {
        hub.corrupt("model.safetensors");

        HubException e = assertThrows(HubException.class, () -> download(options(), List.of(), null));

        assertEquals(HubException.Kind.INTEGRITY, e.kind());
        assertTrue(e.getMessage().contains("sha256 mismatch for model.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains(WEIGHTS_SHA), e.getMessage());
        assertFalse(Files.exists(repoDir().resolve("blobs").resolve(WEIGHTS_SHA)));
        assertFalse(Files.exists(repoDir().resolve("blobs").resolve(WEIGHTS_SHA + ".incomplete")));
        assertFalse(Files.exists(repoDir().resolve("snapshots").resolve(commit).resolve("model.safetensors"),
                LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(repoDir().resolve("refs/main")), "an unfinished snapshot must not become the ref");
    }

    @Test
    void secondDownloadIsServedFromTheCacheWithoutFetchingBodies() throws IOException {
        Path first = download(options(), List.of(), null);
        hub.clearLog();

        Path second = download(options(), List.of(), null);

        assertEquals(first, second);
        List<FakeHub.Request> requests = hub.requests();
        assertEquals(1, requests.size(), "only the model info call: " + requests);
        assertTrue(requests.get(0).path().startsWith("/api/models/"));
        assertArrayEquals(WEIGHTS, Files.readAllBytes(second.resolve("model.safetensors")));
    }

    @Test
    void includeGlobsSelectFiles() throws IOException {
        Path snapshot = download(options(), List.of("*.json"), null);

        assertTrue(Files.exists(snapshot.resolve("config.json")));
        assertTrue(Files.exists(snapshot.resolve("tokenizer.json")));
        assertFalse(Files.exists(snapshot.resolve("model.safetensors")));
        assertFalse(Files.exists(snapshot.resolve("sub")));
        assertTrue(bodyGets("model.safetensors").isEmpty());

        HubException none = assertThrows(HubException.class, () -> download(options(), List.of("*.gguf"), null));
        assertEquals("no file of tiny-org/tiny-model at revision 'main' matches --include *.gguf", none.getMessage());
    }

    @Test
    void outDirReceivesRealFiles() throws IOException {
        Path out = tmp.resolve("model-dir");

        download(options(), List.of(), out);

        for (String name : List.of("config.json", "tokenizer.json", "sub/extra.txt", "model.safetensors")) {
            assertTrue(Files.isRegularFile(out.resolve(name), LinkOption.NOFOLLOW_LINKS), name + " is a real file");
        }
        assertArrayEquals(WEIGHTS, Files.readAllBytes(out.resolve("model.safetensors")));
        assertArrayEquals(EXTRA, Files.readAllBytes(out.resolve("sub/extra.txt")));
    }

    @Test
    void copiesInsteadOfSymlinksWhenAsked() throws IOException {
        HubOptions options = options();
        try (HubDownloader d = new HubDownloader(options, new HubCache(options.cacheDir(), false), ProgressSink.NONE)) {
            Path snapshot = d.download(REPO, "main", List.of("model.safetensors"), null);
            Path file = snapshot.resolve("model.safetensors");
            assertFalse(Files.isSymbolicLink(file));
            assertArrayEquals(WEIGHTS, Files.readAllBytes(file));
        }
    }

    @Test
    void offlineServesACompleteSnapshotWithoutNetwork() throws IOException {
        Path online = download(options(), List.of(), null);
        hub.close(); // nothing to talk to any more

        Path out = tmp.resolve("offline-out");
        Path offline = download(options().withOffline(true), List.of(), out);

        assertEquals(online, offline);
        assertArrayEquals(WEIGHTS, Files.readAllBytes(out.resolve("model.safetensors")));
        // By commit hash as well as by branch name.
        try (HubDownloader d = new HubDownloader(options().withOffline(true))) {
            assertEquals(online, d.download(REPO, commit, List.of(), null));
        }
    }

    @Test
    void offlineMissIsOneClearError() {
        HubException empty = assertThrows(HubException.class,
                () -> download(options().withOffline(true), List.of(), null));
        assertEquals(HubException.Kind.OFFLINE_MISS, empty.kind());
        assertTrue(empty.getMessage().startsWith("offline mode: tiny-org/tiny-model at revision 'main' is not available"),
                empty.getMessage());
        assertTrue(hub.requests().isEmpty(), "offline mode made requests: " + hub.requests());
    }

    @Test
    void offlineRefusesAnIncompleteSnapshot() {
        download(options(), List.of("*.json"), null);
        hub.clearLog();

        HubException e = assertThrows(HubException.class, () -> download(options().withOffline(true), List.of(), null));
        assertEquals(HubException.Kind.OFFLINE_MISS, e.kind());
        assertTrue(e.getMessage().contains("lacks 2 file(s): sub/extra.txt, model.safetensors"), e.getMessage());
        // The part that is there can be served.
        Path snapshot = download(options().withOffline(true), List.of("*.json"), null);
        assertTrue(Files.exists(snapshot.resolve("config.json")));
        assertTrue(hub.requests().isEmpty());
    }

    @Test
    void tokenGoesToTheHubButNotToTheCdn() throws IOException {
        hub.addRepo("acme/secret").privateWithToken("hf_test_token").lfsFile("w.bin", WEIGHTS);

        try (HubDownloader d = new HubDownloader(options().withToken("hf_test_token"))) {
            Path snapshot = d.download("acme/secret", "main", List.of(), null);
            assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("w.bin")));
        }
        List<FakeHub.Request> requests = hub.requests();
        assertTrue(requests.stream().filter(r -> r.server().equals("hub"))
                .allMatch(r -> "Bearer hf_test_token".equals(r.authorization())), requests.toString());
        assertTrue(requests.stream().filter(r -> r.server().equals("cdn")).allMatch(r -> r.authorization() == null));
        assertEquals(1, requests.stream().filter(r -> r.server().equals("cdn")).count());
    }
}
