package dev.tinyrt.io.hub;

import java.net.URI;
import java.net.http.HttpHeaders;

/**
 * Turns the hub's error answers into one clear {@link HubException}. The hub names the cause in the
 * {@code X-Error-Code} header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) and may add
 * {@code X-Error-Message}; without a token it answers 401 for private repositories and for missing ones alike.
 */
final class HubErrors {
    private HubErrors() {
    }

    /** Where the failing request was aimed; {@code file} is null for repository-level requests. */
    record Target(URI endpoint, RepoId repo, String revision, String file, boolean tokenSent) {
    }

    static boolean isRetryable(int status) {
        return status == 429 || status >= 500;
    }

    static HubException toException(int status, HttpHeaders headers, URI uri, Target t) {
        String code = headers.firstValue("X-Error-Code").orElse("");
        String serverMessage = headers.firstValue("X-Error-Message").map(m -> " (hub says: " + m + ")").orElse("");
        String tokenHint = t.tokenSent()
                ? "; check that the account of HF_TOKEN has access to it"
                : "; if it is private or gated, set HF_TOKEN to a token with access";
        return switch (code) {
            case "RevisionNotFound" -> new HubException(HubException.Kind.REVISION_NOT_FOUND,
                    "revision '" + t.revision() + "' not found in repository " + t.repo() + serverMessage);
            case "EntryNotFound" -> new HubException(HubException.Kind.ENTRY_NOT_FOUND,
                    "file '" + t.file() + "' not found in repository " + t.repo() + " at revision '" + t.revision()
                            + "'" + serverMessage);
            case "GatedRepo" -> new HubException(HubException.Kind.GATED,
                    t.repo() + " is a gated repository: accept its conditions at " + t.endpoint() + "/" + t.repo()
                            + (t.tokenSent() ? " with the account of HF_TOKEN" : ", then set HF_TOKEN to a token of that account")
                            + serverMessage);
            case "RepoNotFound" -> new HubException(HubException.Kind.REPO_NOT_FOUND,
                    "repository " + t.repo() + " not found on " + t.endpoint() + tokenHint + serverMessage);
            default -> byStatus(status, uri, t, tokenHint, serverMessage);
        };
    }

    private static HubException byStatus(int status, URI uri, Target t, String tokenHint, String serverMessage) {
        return switch (status) {
            case 401 -> new HubException(HubException.Kind.UNAUTHORIZED, (t.tokenSent()
                    ? "HF_TOKEN was not accepted for " + t.repo() + " (HTTP 401)"
                    : t.repo() + " needs authentication (HTTP 401): it is private, gated or does not exist; set HF_TOKEN")
                    + serverMessage);
            case 403 -> new HubException(HubException.Kind.UNAUTHORIZED,
                    "access to " + t.repo() + " denied (HTTP 403)" + tokenHint + serverMessage);
            case 404 -> t.file() == null
                    ? new HubException(HubException.Kind.REPO_NOT_FOUND, "repository " + t.repo() + " or revision '"
                    + t.revision() + "' not found on " + t.endpoint() + tokenHint + serverMessage)
                    : new HubException(HubException.Kind.ENTRY_NOT_FOUND, "file '" + t.file() + "' not found in "
                    + t.repo() + " at revision '" + t.revision() + "' (HTTP 404 from " + uri + ")" + serverMessage);
            default -> status >= 500
                    ? new HubException(HubException.Kind.SERVER_ERROR,
                    "hub server error HTTP " + status + " for " + uri + serverMessage)
                    : new HubException(HubException.Kind.PROTOCOL,
                    "unexpected HTTP " + status + " for " + uri + serverMessage);
        };
    }
}
