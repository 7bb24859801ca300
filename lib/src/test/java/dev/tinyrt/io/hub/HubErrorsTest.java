package dev.tinyrt.io.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hub's error answers, and failures to reach it, become one clear {@link HubException} each. */
class HubErrorsTest {
    @TempDir
    Path tmp;
    FakeHub hub;

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        hub.addRepo("tiny-org/tiny-model").file("config.json", "{}".getBytes(StandardCharsets.UTF_8));
        hub.addRepo("acme/private").privateWithToken("right").file("config.json", new byte[]{1});
        hub.addRepo("meta-llama/Gated").gatedWithToken("approved").file("config.json", new byte[]{1});
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    HubOptions options() {
        return HubOptions.fromEnvironment(Map.of()).withEndpoint(hub.endpoint()).withCacheDir(tmp).withQuiet(true)
                .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2)).withRetries(1, Duration.ofMillis(10));
    }

    HubException failure(HubOptions options, String repo, String revision) {
        return assertThrows(HubException.class, () -> {
            try (HubDownloader d = new HubDownloader(options)) {
                d.download(repo, revision);
            }
        });
    }

    @Test
    void missingRepository() {
        HubException e = failure(options().withToken("any"), "nobody/nothing", "main");
        assertEquals(HubException.Kind.REPO_NOT_FOUND, e.kind());
        assertEquals("repository nobody/nothing not found on " + hub.endpoint()
                + "; check that the account of HF_TOKEN has access to it (hub says: Repository not found)", e.getMessage());
    }

    @Test
    void missingRevision() {
        HubException e = failure(options(), "tiny-org/tiny-model", "v9");
        assertEquals(HubException.Kind.REVISION_NOT_FOUND, e.kind());
        assertTrue(e.getMessage().startsWith("revision 'v9' not found in repository tiny-org/tiny-model"), e.getMessage());
    }

    @Test
    void missingFile() {
        try (HubClient client = new HubClient(options())) {
            HubException e = assertThrows(HubException.class,
                    () -> client.fileMetadata(RepoId.of("tiny-org/tiny-model"), "main", "nope.bin"));
            assertEquals(HubException.Kind.ENTRY_NOT_FOUND, e.kind());
            assertTrue(e.getMessage().startsWith("file 'nope.bin' not found in repository tiny-org/tiny-model at revision 'main'"),
                    e.getMessage());
        }
    }

    @Test
    void privateRepositoryWithoutTokenAnswers401() {
        HubException e = failure(options(), "acme/private", "main");
        assertEquals(HubException.Kind.REPO_NOT_FOUND, e.kind()); // the hub does not tell private from missing
        assertTrue(e.getMessage().contains("if it is private or gated, set HF_TOKEN"), e.getMessage());
        assertTrue(hub.requests().stream().allMatch(r -> r.authorization() == null));
    }

    @Test
    void gatedRepository() {
        HubException e = failure(options().withToken("not-approved"), "meta-llama/Gated", "main");
        assertEquals(HubException.Kind.GATED, e.kind());
        assertTrue(e.getMessage().startsWith("meta-llama/Gated is a gated repository: accept its conditions at "
                + hub.endpoint() + "/meta-llama/Gated with the account of HF_TOKEN"), e.getMessage());
    }

    @Test
    void bare401And403AreExplained() {
        HubErrors.Target t = new HubErrors.Target(URI.create("https://hub.example"), RepoId.of("a/b"), "main", null, false);
        HttpHeaders none = HttpHeaders.of(Map.of(), (k, v) -> true);
        HubException e401 = HubErrors.toException(401, none, URI.create("https://hub.example/x"), t);
        assertEquals(HubException.Kind.UNAUTHORIZED, e401.kind());
        assertEquals("a/b needs authentication (HTTP 401): it is private, gated or does not exist; set HF_TOKEN",
                e401.getMessage());
        HubException e403 = HubErrors.toException(403, HttpHeaders.of(Map.of("X-Error-Message", List.of("nope")),
                (k, v) -> true), URI.create("https://hub.example/x"), t);
        assertEquals("access to a/b denied (HTTP 403); if it is private or gated, set HF_TOKEN to a token with access"
                + " (hub says: nope)", e403.getMessage());
    }

    @Test
    void unreachableHubSuggestsOfflineMode() throws IOException {
        URI closed;
        try (FakeHub gone = FakeHub.start()) {
            closed = gone.endpoint();
        }
        HubException e = failure(options().withEndpoint(closed), "tiny-org/tiny-model", "main");
        assertEquals(HubException.Kind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().startsWith("cannot reach " + closed + " after 2 attempt(s)"), e.getMessage());
        assertTrue(e.getMessage().endsWith("use --offline (or HF_HUB_OFFLINE=1) to work from the cache"), e.getMessage());
    }

    @Test
    void unsafeFileNamesFromTheServerAreRejected() {
        hub.addRepo("evil/repo").file("../../outside.txt", new byte[]{1});
        HubException e = failure(options(), "evil/repo", "main");
        assertEquals(HubException.Kind.PROTOCOL, e.kind());
        assertEquals("unsafe file name from the hub: '../../outside.txt'", e.getMessage());
    }
}
