package dev.tinyrt.io.hub;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Names, URLs, patterns and options: the small rules the downloader builds on. */
class HubBasicsTest {
    @Test
    void urlsFollowTheHubScheme() {
        HubUrls urls = new HubUrls(URI.create("https://huggingface.co"));
        RepoId repo = RepoId.of("TinyLlama/TinyLlama-1.1B-Chat-v1.0");
        assertEquals("https://huggingface.co/api/models/TinyLlama/TinyLlama-1.1B-Chat-v1.0/revision/main?blobs=true",
                urls.modelInfo(repo, "main").toString());
        assertEquals("https://huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0/resolve/refs%2Fpr%2F1/sub%20dir/a%2Bb.json",
                urls.resolve(repo, "refs/pr/1", "sub dir/a+b.json").toString());
        assertEquals("a%2Bb%C3%A9", HubUrls.quote("a+bé", ""));
        assertTrue(urls.isHub(URI.create("https://huggingface.co/x")));
        assertFalse(urls.isHub(URI.create("https://cdn-lfs.huggingface.co/x")));
    }

    @Test
    void repoIdsAreValidatedAndNameTheCacheFolder() {
        assertEquals("models--TinyLlama--TinyLlama-1.1B-Chat-v1.0",
                RepoId.of("TinyLlama/TinyLlama-1.1B-Chat-v1.0").cacheFolderName());
        assertEquals("models--gpt2", RepoId.of("gpt2").cacheFolderName());
        for (String bad : List.of("", "a/b/c", "../x", "a--b/c", "a/", "/a", "a b/c")) {
            assertThrows(dev.tinyrt.TinyrtException.class, () -> RepoId.of(bad), bad);
        }
    }

    @Test
    void globsHaveFnmatchSemantics() {
        Predicate<String> json = Globs.anyOf(List.of("*.json"));
        assertTrue(json.test("config.json"));
        assertTrue(json.test("sub/config.json"), "* crosses '/' as in fnmatch");
        assertFalse(json.test("model.safetensors"));
        Predicate<String> folder = Globs.anyOf(List.of("onnx/"));
        assertTrue(folder.test("onnx/model.onnx"));
        assertFalse(folder.test("model.onnx"));
        Predicate<String> classes = Globs.anyOf(List.of("model-0000[!2]-of-?????.safetensors"));
        assertTrue(classes.test("model-00001-of-00002.safetensors"));
        assertFalse(classes.test("model-00002-of-00002.safetensors"));
        assertTrue(Globs.anyOf(List.of()).test("anything"));
        assertTrue(Globs.anyOf(List.of("a.b")).test("a.b"));
        assertFalse(Globs.anyOf(List.of("a.b")).test("axb"), "'.' is literal");
    }

    @Test
    void etagsAreNormalizedAndChecked() {
        assertEquals("abc123", HubClient.normalizeEtag("\"abc123\""));
        assertEquals("abc123", HubClient.normalizeEtag("W/\"abc123\""));
        assertThrows(HubException.class, () -> HubClient.normalizeEtag("\"../../etc\""));
    }

    @Test
    void unsafeRevisionsAndNamesAreRejected() {
        assertEquals("refs/pr/1", SafeNames.requireRevision("refs/pr/1"));
        for (String bad : List.of("../main", "a/../../b", "/abs", "a\\b", "")) {
            assertThrows(HubException.class, () -> SafeNames.requireRevision(bad), bad);
        }
    }

    @Test
    void optionsComeFromTheEnvironment() {
        HubOptions o = HubOptions.fromEnvironment(Map.of("HF_ENDPOINT", "http://mirror.local:8080/", "HF_TOKEN", "hf_x",
                "HF_HUB_OFFLINE", "1", "TINYRT_HUB_CACHE", "/tmp/hubcache", "HF_HUB_DOWNLOAD_TIMEOUT", "2.5"));
        assertEquals(URI.create("http://mirror.local:8080"), o.endpoint());
        assertEquals(Optional.of("hf_x"), o.token());
        assertTrue(o.offline());
        assertEquals(Path.of("/tmp/hubcache"), o.cacheDir());
        assertEquals(Duration.ofMillis(2500), o.readTimeout());

        HubOptions d = HubOptions.fromEnvironment(Map.of("HF_HUB_OFFLINE", "0"));
        assertEquals(URI.create("https://huggingface.co"), d.endpoint());
        assertEquals(Optional.empty(), d.token());
        assertFalse(d.offline());
        assertEquals(Path.of(System.getProperty("user.home"), ".cache", "tinyrt", "hub"), d.cacheDir());
    }

    @Test
    void badEnvironmentValuesAreUserErrors() {
        assertEquals("environment variable HF_HUB_DOWNLOAD_TIMEOUT has an invalid value 'soon'",
                assertThrows(dev.tinyrt.TinyrtException.class,
                        () -> HubOptions.fromEnvironment(Map.of("HF_HUB_DOWNLOAD_TIMEOUT", "soon"))).getMessage());
        assertEquals("hub endpoint must be an http(s) address like https://huggingface.co, not 'huggingface.co'",
                assertThrows(dev.tinyrt.TinyrtException.class,
                        () -> HubOptions.fromEnvironment(Map.of("HF_ENDPOINT", "huggingface.co"))).getMessage());
    }

    @Test
    void backoffDoublesUpToACap() {
        Duration base = Duration.ofMillis(500);
        assertEquals(500, Backoff.delayMillis(base, 1));
        assertEquals(1000, Backoff.delayMillis(base, 2));
        assertEquals(4000, Backoff.delayMillis(base, 4));
        assertEquals(8000, Backoff.delayMillis(base, 30));
    }
}
