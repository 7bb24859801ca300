package dev.tinyrt.io.hub;

import java.util.regex.Pattern;

/**
 * Checks names that come from the user or the server before they become paths in the cache: a file name like
 * {@code ../../.bashrc} from a hostile server, or a revision like {@code ../x}, must not escape the cache.
 */
final class SafeNames {
    private static final Pattern BAD_SEGMENT = Pattern.compile("|\\.|\\.\\.");

    private SafeNames() {
    }

    /** A '/'-separated relative path without empty, '.' or '..' segments, backslashes or NUL. */
    static String requireRelativePath(String name) {
        if (!isRelativePath(name)) {
            throw new HubException(HubException.Kind.PROTOCOL, "unsafe file name from the hub: '" + name + "'");
        }
        return name;
    }

    /** A revision (branch, tag, commit, {@code refs/pr/1}) that is safe as a path under {@code refs/}. */
    static String requireRevision(String revision) {
        if (!isRelativePath(revision)) {
            throw new HubException(HubException.Kind.REVISION_NOT_FOUND, "invalid revision '" + revision + "'");
        }
        return revision;
    }

    private static boolean isRelativePath(String name) {
        if (name.isEmpty() || name.startsWith("/") || name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0) {
            return false;
        }
        for (String segment : name.split("/", -1)) {
            if (BAD_SEGMENT.matcher(segment).matches()) {
                return false;
            }
        }
        return true;
    }
}
