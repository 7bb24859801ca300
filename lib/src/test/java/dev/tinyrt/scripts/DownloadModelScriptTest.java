package dev.tinyrt.scripts;

import dev.tinyrt.io.hub.FakeHub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jbang-scripts/download_model.java end to end against a local fake hub. */
class DownloadModelScriptTest {
    static final byte[] CONFIG = "{\"model_type\": \"llama\"}".getBytes(StandardCharsets.UTF_8);
    static final byte[] WEIGHTS = FakeHub.randomBytes(1_500_000, 7);

    @TempDir
    Path tmp;
    FakeHub hub;
    String commit;

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        commit = hub.addRepo("tiny-org/tiny-model").file("config.json", CONFIG)
                .lfsFile("model.safetensors", WEIGHTS).commit();
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    ScriptHarness.Result run(String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "--endpoint";
        all[1] = hub.endpoint().toString();
        all[2] = "--cache-dir";
        all[3] = tmp.resolve("cache").toString();
        System.arraycopy(args, 0, all, 4, args.length);
        return ScriptHarness.run("download_model.java", all);
    }

    @Test
    void downloadsIntoOutDirThenServesOffline() throws IOException {
        Path out = tmp.resolve("model");
        hub.dropConnection("model.safetensors", 400_000, 1);

        ScriptHarness.Result r = run("tiny-org/tiny-model", "--out", out.toString());

        assertEquals(0, r.exitCode(), r.err());
        assertEquals("", r.err(), "no progress bars when stderr is not a terminal");
        assertEquals(out.toString(), r.out().strip());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors"), LinkOption.NOFOLLOW_LINKS));
        assertArrayEquals(WEIGHTS, Files.readAllBytes(out.resolve("model.safetensors")));
        assertArrayEquals(CONFIG, Files.readAllBytes(out.resolve("config.json")));
        assertTrue(hub.requests().stream().anyMatch(q -> "bytes=400000-".equals(q.range())), "resumed with Range");

        hub.clearLog();
        ScriptHarness.Result offline = run("tiny-org/tiny-model", "--offline", "--include", "*.json");
        assertEquals(0, offline.exitCode(), offline.err());
        Path snapshot = tmp.resolve("cache/models--tiny-org--tiny-model/snapshots").resolve(commit);
        assertEquals(snapshot.toString(), offline.out().strip());
        assertTrue(hub.requests().isEmpty());
    }

    @Test
    void userErrorsAreOneLineAndExitCode2() {
        ScriptHarness.Result missing = run("nobody/nothing");
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().startsWith("error: repository nobody/nothing not found on " + hub.endpoint()), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());

        ScriptHarness.Result offlineMiss = run("tiny-org/tiny-model", "--offline");
        assertEquals(2, offlineMiss.exitCode());
        assertTrue(offlineMiss.err().startsWith("error: offline mode: tiny-org/tiny-model at revision 'main'"),
                offlineMiss.err());

        hub.corrupt("model.safetensors");
        ScriptHarness.Result corrupt = run("tiny-org/tiny-model", "--quiet");
        assertEquals(2, corrupt.exitCode());
        assertTrue(corrupt.err().startsWith("error: sha256 mismatch for model.safetensors"), corrupt.err());
        assertEquals(1, corrupt.err().strip().lines().count(), corrupt.err());
    }

    @Test
    void helpListsTheOptions() {
        ScriptHarness.Result help = ScriptHarness.run("download_model.java", "--help");
        assertEquals(0, help.exitCode());
        for (String option : new String[]{"REPO_ID", "--revision", "--out", "--cache-dir", "--include", "--endpoint",
                "--offline", "--quiet"}) {
            assertTrue(help.out().contains(option), option + " in\n" + help.out());
        }
    }
}
