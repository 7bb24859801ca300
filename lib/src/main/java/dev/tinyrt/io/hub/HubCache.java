package dev.tinyrt.io.hub;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;

/**
 * The local cache, laid out like huggingface_hub's so either tool can read the other's downloads:
 * <pre>
 * {root}/models--{org}--{name}/
 *     blobs/{etag}                 file contents, named by ETag (git sha1, or sha256 for LFS files)
 *     blobs/{etag}.incomplete      a download in progress, resumed from its length
 *     refs/{revision}              the commit a branch or tag pointed to at the last download
 *     snapshots/{commit}/{file}    relative symlink to ../../blobs/{etag} (a copy where symlinks fail)
 *     .tinyrt/{commit}.json        tinyrt's own record of the commit's file list, to tell complete snapshots
 * {root}/.locks/models--{org}--{name}/{etag}.lock
 * </pre>
 */
public final class HubCache {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final boolean useSymlinks;

    public HubCache(Path root) {
        this(root, true);
    }

    /** {@code useSymlinks=false} always copies blobs into snapshots (as on file systems without symlinks). */
    public HubCache(Path root, boolean useSymlinks) {
        this.root = root.toAbsolutePath().normalize();
        this.useSymlinks = useSymlinks;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(RepoId repo) {
        return root.resolve(repo.cacheFolderName());
    }

    public Path blob(RepoId repo, String etag) {
        return repoDir(repo).resolve("blobs").resolve(etag);
    }

    public Path incompleteBlob(RepoId repo, String etag) {
        return repoDir(repo).resolve("blobs").resolve(etag + ".incomplete");
    }

    public Path snapshotDir(RepoId repo, String commit) {
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    public Path snapshotFile(RepoId repo, String commit, String file) {
        return snapshotDir(repo, commit).resolve(SafeNames.requireRelativePath(file));
    }

    /** The commit {@code revision} pointed to when it was last downloaded. */
    public Optional<String> readRef(RepoId repo, String revision) {
        Path ref = refPath(repo, revision);
        try {
            return Files.isRegularFile(ref) ? Optional.of(Files.readString(ref).strip()) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void writeRef(RepoId repo, String revision, String commit) {
        writeAtomically(refPath(repo, revision), commit.getBytes(StandardCharsets.US_ASCII));
    }

    /** The commit's complete file list as last seen online, if tinyrt downloaded from this commit. */
    public Optional<RepoInfo> readManifest(RepoId repo, String commit) {
        Path path = manifestPath(repo, commit);
        if (!Files.isRegularFile(path)) {
            return Optional.empty();
        }
        try {
            Manifest m = JSON.readValue(path.toFile(), Manifest.class);
            return Optional.of(new RepoInfo(m.commit(), m.files().stream()
                    .map(f -> new RepoFile(SafeNames.requireRelativePath(f.name()), f.size(),
                            Optional.ofNullable(f.sha256())))
                    .toList()));
        } catch (IOException e) {
            return Optional.empty(); // unreadable manifest: treat as absent, the next online run rewrites it
        }
    }

    public void writeManifest(RepoId repo, RepoInfo info) {
        Manifest m = new Manifest(info.commit(), info.files().stream()
                .map(f -> new ManifestFile(f.name(), f.size(), f.lfsSha256().orElse(null))).toList());
        try {
            writeAtomically(manifestPath(repo, info.commit()), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Points {@code snapshots/{commit}/{file}} at the blob: a relative symlink, or a copy when that fails. */
    public void linkIntoSnapshot(RepoId repo, String commit, String file, String etag) {
        Path blob = blob(repo, etag);
        Path target = snapshotFile(repo, commit, file);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            Files.deleteIfExists(tmp);
            if (!useSymlinks || !trySymlink(tmp, target.getParent().relativize(blob))) {
                Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An inter-process lock on one blob, so that two downloads of it cannot interleave. */
    public static final class BlobLock implements AutoCloseable {
        private final FileChannel channel;

        private BlobLock(FileChannel channel) throws IOException {
            this.channel = channel;
            try {
                channel.lock();
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        @Override
        public void close() {
            try {
                channel.close(); // releases the lock
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public BlobLock lockBlob(RepoId repo, String etag) {
        Path lock = root.resolve(".locks").resolve(repo.cacheFolderName()).resolve(etag + ".lock");
        try {
            Files.createDirectories(lock.getParent());
            return new BlobLock(FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean trySymlink(Path link, Path relativeTarget) {
        try {
            Files.createSymbolicLink(link, relativeTarget);
            return true;
        } catch (UnsupportedOperationException | FileSystemException | SecurityException e) {
            return false; // e.g. Windows without developer mode, some network file systems
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path refPath(RepoId repo, String revision) {
        return repoDir(repo).resolve("refs").resolve(SafeNames.requireRevision(revision));
    }

    private Path manifestPath(RepoId repo, String commit) {
        return repoDir(repo).resolve(".tinyrt").resolve(commit + ".json");
    }

    private static void writeAtomically(Path path, byte[] content) {
        try {
            Files.createDirectories(path.getParent());
            Path tmp = path.resolveSibling(path.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            Files.write(tmp, content);
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record Manifest(String commit, List<ManifestFile> files) {
    }

    private record ManifestFile(String name, long size, String sha256) {
    }
}
