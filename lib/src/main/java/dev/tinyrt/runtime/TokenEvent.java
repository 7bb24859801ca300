package dev.tinyrt.runtime;

/** One generated token as published to a request's stream. */
public record TokenEvent(long requestId, int tokenId, String text) {
}
