package dev.tinyrt.io.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a finished download before it enters the cache: the size always, and for LFS files the sha256 the hub
 * published (the API's {@code lfs.sha256}, which is also the file's ETag). A file that fails is deleted.
 */
final class BlobVerifier {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private BlobVerifier() {
    }

    static void verify(Path downloaded, RepoFile file, FileMetadata meta, RepoId repo) {
        try {
            long actual = Files.size(downloaded);
            long expected = file.size() >= 0 ? file.size() : meta.size();
            if (actual != meta.size() || actual != expected) {
                reject(downloaded, "size mismatch for " + file.name() + " of " + repo + ": expected " + expected
                        + " bytes, got " + actual);
            }
            Set<String> expectedSha = new LinkedHashSet<>();
            file.lfsSha256().ifPresent(expectedSha::add);
            if (SHA256.matcher(meta.etag()).matches()) {
                expectedSha.add(meta.etag());
            }
            if (!expectedSha.isEmpty()) {
                String sha = sha256(downloaded);
                if (!expectedSha.equals(Set.of(sha))) {
                    reject(downloaded, "sha256 mismatch for " + file.name() + " of " + repo + ": expected "
                            + String.join(" / ", expectedSha) + ", got " + sha);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(Path path) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(path), digest)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static void reject(Path downloaded, String why) throws IOException {
        Files.deleteIfExists(downloaded);
        throw new HubException(HubException.Kind.INTEGRITY, why + "; the corrupt download was deleted, run again");
    }
}
