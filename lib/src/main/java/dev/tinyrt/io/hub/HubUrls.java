package dev.tinyrt.io.hub;

import java.net.URI;
import java.nio.charset.StandardCharsets;

/** The hub's address scheme: the model info API and the per-file resolve route. */
final class HubUrls {
    private static final String HEX = "0123456789ABCDEF";

    private final URI endpoint;

    HubUrls(URI endpoint) {
        this.endpoint = endpoint;
    }

    /** {@code GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true}: commit sha and files with LFS info. */
    URI modelInfo(RepoId repo, String revision) {
        return URI.create(endpoint + "/api/models/" + repo + "/revision/" + quote(revision, "") + "?blobs=true");
    }

    /** {@code {endpoint}/{repo}/resolve/{revision}/{file}}: HEAD gives the metadata, GET the bytes. */
    URI resolve(RepoId repo, String revision, String file) {
        return URI.create(endpoint + "/" + repo + "/resolve/" + quote(revision, "") + "/" + quote(file, "/"));
    }

    /** True when {@code uri} is on the hub itself (same scheme, host and port), where the token may be sent. */
    boolean isHub(URI uri) {
        return endpoint.getScheme().equalsIgnoreCase(uri.getScheme())
                && endpoint.getHost().equalsIgnoreCase(uri.getHost())
                && endpoint.getPort() == uri.getPort();
    }

    URI endpoint() {
        return endpoint;
    }

    /** Percent-encodes like Python's {@code urllib.parse.quote(s, safe)}, which huggingface_hub uses for URLs. */
    static String quote(String s, String safe) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            boolean unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "_.-~".indexOf(c) >= 0 || (c < 128 && safe.indexOf(c) >= 0);
            if (unreserved) {
                out.append(c);
            } else {
                out.append('%').append(HEX.charAt(c >> 4)).append(HEX.charAt(c & 0xf));
            }
        }
        return out.toString();
    }
}
