package dev.tinyrt.io.hub;

import java.util.List;

/**
 * A repository's file list at one commit.
 *
 * @param commit the 40-hex commit the requested revision points to ({@code sha} in the API answer)
 * @param files  every file of the repository at that commit
 */
public record RepoInfo(String commit, List<RepoFile> files) {
    public RepoInfo {
        files = List.copyOf(files);
    }
}
