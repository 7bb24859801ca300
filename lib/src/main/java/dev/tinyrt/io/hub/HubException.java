package dev.tinyrt.io.hub;

import dev.tinyrt.TinyrtException;

/** A download that cannot succeed as asked; {@link #kind()} lets callers react without parsing the message. */
public final class HubException extends TinyrtException {
    public enum Kind {
        REPO_NOT_FOUND, REVISION_NOT_FOUND, ENTRY_NOT_FOUND, UNAUTHORIZED, GATED, OFFLINE_MISS, INTEGRITY,
        SERVER_ERROR, UNREACHABLE, PROTOCOL, LOCAL_IO
    }

    private final Kind kind;

    public HubException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public HubException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
