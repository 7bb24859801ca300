package dev.tinyrt.io.hub;

import java.util.Optional;

/**
 * One file of a repository at a commit, as the model info API lists it.
 *
 * @param name      path inside the repository ({@code rfilename}), '/'-separated
 * @param size      size in bytes (of the real content, also for LFS files), or -1 when the API did not say
 * @param lfsSha256 sha256 of the content for files stored with git-lfs; empty for plain git files
 */
public record RepoFile(String name, long size, Optional<String> lfsSha256) {
    public boolean isLfs() {
        return lfsSha256.isPresent();
    }
}
