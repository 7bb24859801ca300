package dev.tinyrt.io.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Downloads a repository snapshot into the {@link HubCache} the way huggingface_hub's {@code snapshot_download}
 * does: ask the API which commit the revision is and which files it has, then for each wanted file not yet in
 * the snapshot HEAD its resolve URL (ETag, size, CDN location), download the blob resumably, verify it, and
 * link it into {@code snapshots/{commit}/}. Offline, the snapshot is served from the cache only if complete.
 */
public final class HubDownloader implements AutoCloseable {
    private final HubOptions options;
    private final HubCache cache;
    private final ProgressSink progress;
    private HubClient client;

    public HubDownloader(HubOptions options) {
        this(options, new HubCache(options.cacheDir()), ProgressSink.forConsole(options.quiet()));
    }

    public HubDownloader(HubOptions options, HubCache cache, ProgressSink progress) {
        this.options = options;
        this.cache = cache;
        this.progress = progress;
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * Makes the files of {@code repoId} at {@code revision} that match {@code includeGlobs} (all files when empty)
     * available in the cache and returns the snapshot folder. With {@code outDir}, the files are also copied
     * there as real files.
     */
    public Path download(String repoId, String revision, List<String> includeGlobs, Path outDir) {
        RepoId repo = RepoId.of(repoId);
        SafeNames.requireRevision(revision);
        Predicate<String> wanted = Globs.anyOf(includeGlobs);
        try {
            Snapshot snapshot = options.offline()
                    ? fromCache(repo, revision, wanted, includeGlobs)
                    : fromHub(repo, revision, wanted, includeGlobs);
            if (outDir != null) {
                SnapshotExporter.export(snapshot.dir(), snapshot.files(), outDir);
            }
            return snapshot.dir();
        } catch (UncheckedIOException e) {
            throw new HubException(HubException.Kind.LOCAL_IO, "cannot write to " + cache.root()
                    + (outDir == null ? "" : " or " + outDir) + ": " + e.getCause(), e);
        }
    }

    public Path download(String repoId, String revision) {
        return download(repoId, revision, List.of(), null);
    }

    @Override
    public void close() {
        if (client != null) {
            client.close();
        }
    }

    private record Snapshot(Path dir, List<String> files) {
    }

    private Snapshot fromHub(RepoId repo, String revision, Predicate<String> wanted, List<String> globs) {
        HubClient hub = client();
        RepoInfo info = hub.modelInfo(repo, revision);
        List<RepoFile> files = info.files().stream().filter(f -> wanted.test(f.name())).toList();
        if (files.isEmpty()) {
            throw new HubException(HubException.Kind.ENTRY_NOT_FOUND, noFilesMessage(repo, revision, globs));
        }
        cache.writeManifest(repo, info);
        BlobDownloader blobs = new BlobDownloader(hub, progress);
        for (RepoFile file : files) {
            fetchFile(hub, blobs, repo, info.commit(), file);
        }
        if (!revision.equals(info.commit())) {
            cache.writeRef(repo, revision, info.commit()); // only once the files are in, so offline stays truthful
        }
        return new Snapshot(cache.snapshotDir(repo, info.commit()), files.stream().map(RepoFile::name).toList());
    }

    private void fetchFile(HubClient hub, BlobDownloader blobs, RepoId repo, String commit, RepoFile file) {
        if (Files.isRegularFile(cache.snapshotFile(repo, commit, file.name()))) {
            return; // a snapshot file only appears once its blob is complete and verified
        }
        // Resolve by commit, not by branch, so every file comes from the same commit even if the branch moves.
        FileMetadata meta = hub.fileMetadata(repo, commit, file.name());
        if (meta.commit() != null && !meta.commit().equals(commit)) {
            throw new HubException(HubException.Kind.PROTOCOL, "the hub resolved " + file.name() + " at commit "
                    + meta.commit() + " although commit " + commit + " was asked for");
        }
        if (meta.size() < 0) {
            meta = new FileMetadata(meta.commit(), meta.etag(), file.size(), meta.location());
        }
        if (meta.size() < 0) {
            throw new HubException(HubException.Kind.PROTOCOL, "the hub told no size for " + file.name());
        }
        if (!Files.isRegularFile(cache.blob(repo, meta.etag()))) {
            try (HubCache.BlobLock lock = cache.lockBlob(repo, meta.etag())) {
                Path blob = cache.blob(repo, meta.etag());
                if (!Files.isRegularFile(blob)) { // another process may have finished it while we waited
                    Path incomplete = cache.incompleteBlob(repo, meta.etag());
                    blobs.download(file.name(), meta, incomplete, hub.target(repo, commit, file.name()));
                    BlobVerifier.verify(incomplete, file, meta, repo);
                    moveIntoPlace(incomplete, blob);
                }
            }
        }
        cache.linkIntoSnapshot(repo, commit, file.name(), meta.etag());
    }

    private Snapshot fromCache(RepoId repo, String revision, Predicate<String> wanted, List<String> globs) {
        String commit = HubClient.isCommitHash(revision) ? revision : cache.readRef(repo, revision)
                .orElseThrow(() -> offlineMiss(repo, revision, "nothing of it is cached"));
        Path dir = cache.snapshotDir(repo, commit);
        if (!Files.isDirectory(dir)) {
            throw offlineMiss(repo, revision, "nothing of it is cached");
        }
        List<String> files;
        var manifest = cache.readManifest(repo, commit);
        if (manifest.isPresent()) {
            files = manifest.get().files().stream().map(RepoFile::name).filter(wanted).toList();
            List<String> missing = files.stream().filter(f -> !Files.isRegularFile(dir.resolve(f))).toList();
            if (!missing.isEmpty()) {
                throw offlineMiss(repo, revision, "the cached snapshot lacks " + missing.size() + " file(s): "
                        + String.join(", ", missing.subList(0, Math.min(3, missing.size())))
                        + (missing.size() > 3 ? ", ..." : ""));
            }
        } else {
            // A snapshot written by huggingface_hub itself: no file list to check against, serve what is there.
            files = listFiles(dir).stream().filter(wanted).toList();
        }
        if (files.isEmpty()) {
            throw offlineMiss(repo, revision, noFilesMessage(repo, revision, globs));
        }
        return new Snapshot(dir, files);
    }

    private HubException offlineMiss(RepoId repo, String revision, String why) {
        return new HubException(HubException.Kind.OFFLINE_MISS, "offline mode: " + repo + " at revision '"
                + revision + "' is not available in the cache " + cache.root() + " (" + why
                + "); run once without --offline / HF_HUB_OFFLINE to download it");
    }

    private static String noFilesMessage(RepoId repo, String revision, List<String> globs) {
        return globs == null || globs.isEmpty()
                ? repo + " has no files at revision '" + revision + "'"
                : "no file of " + repo + " at revision '" + revision + "' matches --include " + String.join(" ", globs);
    }

    private HubClient client() {
        if (client == null) {
            client = new HubClient(options);
        }
        return client;
    }

    private static void moveIntoPlace(Path incomplete, Path blob) {
        try {
            Files.move(incomplete, blob, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> listFiles(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
