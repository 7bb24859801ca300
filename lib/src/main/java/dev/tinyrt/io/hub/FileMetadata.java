package dev.tinyrt.io.hub;

import java.net.URI;

/**
 * What a HEAD on a file's resolve URL says about it, read from the first response (before any CDN redirect),
 * exactly as huggingface_hub does.
 *
 * @param commit   {@code X-Repo-Commit}
 * @param etag     {@code X-Linked-Etag} or else {@code ETag}, without quotes: the git blob sha1 of a plain file or
 *                 the sha256 of an LFS file; it names the blob in the cache
 * @param size     {@code X-Linked-Size} or else {@code Content-Length}
 * @param location where to GET the bytes: the CDN address of a redirect, or the resolve URL itself
 */
public record FileMetadata(String commit, String etag, long size, URI location) {
}
