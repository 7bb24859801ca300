package dev.tinyrt.io.hub;

import dev.tinyrt.TinyrtException;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Everything the hub client needs to know about where and how to download. Defaults come from the same
 * environment variables huggingface_hub reads ({@code HF_ENDPOINT}, {@code HF_TOKEN}, {@code HF_HUB_OFFLINE},
 * {@code HF_HUB_DOWNLOAD_TIMEOUT}) plus {@code TINYRT_HUB_CACHE} for the cache folder.
 *
 * @param endpoint       hub base address, e.g. https://huggingface.co
 * @param token          bearer token for private and gated repositories (sent only to {@code endpoint})
 * @param cacheDir       root of the local cache (layout of huggingface_hub's cache)
 * @param offline        never touch the network; serve from the cache or fail
 * @param quiet          no progress bars
 * @param connectTimeout time allowed to open a connection
 * @param readTimeout    time allowed without receiving a byte (headers or body) before the attempt is dropped
 * @param maxRetries     retries after a dropped connection, timeout or 5xx answer (without progress in between)
 * @param retryBackoff   first wait between retries; doubles each time, capped at 8 s
 */
public record HubOptions(URI endpoint, Optional<String> token, Path cacheDir, boolean offline, boolean quiet,
                         Duration connectTimeout, Duration readTimeout, int maxRetries, Duration retryBackoff) {

    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");
    private static final Set<String> TRUE_VALUES = Set.of("1", "on", "yes", "true");

    public HubOptions {
        endpoint = withoutTrailingSlash(endpoint);
        if (!("http".equals(endpoint.getScheme()) || "https".equals(endpoint.getScheme())) || endpoint.getHost() == null) {
            throw new TinyrtException("hub endpoint must be an http(s) address like https://huggingface.co, not '"
                    + endpoint + "'");
        }
        token = token.filter(t -> !t.isBlank()).map(String::strip);
        cacheDir = cacheDir.toAbsolutePath().normalize();
        if (maxRetries < 0) {
            throw new IllegalArgumentException("maxRetries must be >= 0");
        }
    }

    /** Options as the process environment and the user's home directory give them. */
    public static HubOptions fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /** Options from an explicit environment map (tests pass their own). */
    public static HubOptions fromEnvironment(Map<String, String> env) {
        URI endpoint = Optional.ofNullable(env.get("HF_ENDPOINT")).filter(s -> !s.isBlank())
                .map(s -> parse("HF_ENDPOINT", s, URI::create)).orElse(DEFAULT_ENDPOINT);
        Optional<String> token = Optional.ofNullable(env.get("HF_TOKEN"))
                .or(() -> Optional.ofNullable(env.get("HUGGING_FACE_HUB_TOKEN")));
        Path cache = Optional.ofNullable(env.get("TINYRT_HUB_CACHE")).filter(s -> !s.isBlank()).map(Path::of)
                .orElse(Path.of(System.getProperty("user.home"), ".cache", "tinyrt", "hub"));
        boolean offline = TRUE_VALUES.contains(env.getOrDefault("HF_HUB_OFFLINE", "").strip().toLowerCase(Locale.ROOT));
        Duration read = Optional.ofNullable(env.get("HF_HUB_DOWNLOAD_TIMEOUT")).filter(s -> !s.isBlank())
                .map(s -> parse("HF_HUB_DOWNLOAD_TIMEOUT", s, v -> Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000))))
                .orElse(Duration.ofSeconds(10));
        return new HubOptions(endpoint, token, cache, offline, false, Duration.ofSeconds(10), read, 5,
                Duration.ofMillis(500));
    }

    public HubOptions withEndpoint(URI value) {
        return new HubOptions(value, token, cacheDir, offline, quiet, connectTimeout, readTimeout, maxRetries, retryBackoff);
    }

    public HubOptions withToken(String value) {
        return new HubOptions(endpoint, Optional.ofNullable(value), cacheDir, offline, quiet, connectTimeout,
                readTimeout, maxRetries, retryBackoff);
    }

    public HubOptions withCacheDir(Path value) {
        return new HubOptions(endpoint, token, value, offline, quiet, connectTimeout, readTimeout, maxRetries, retryBackoff);
    }

    public HubOptions withOffline(boolean value) {
        return new HubOptions(endpoint, token, cacheDir, value, quiet, connectTimeout, readTimeout, maxRetries, retryBackoff);
    }

    public HubOptions withQuiet(boolean value) {
        return new HubOptions(endpoint, token, cacheDir, offline, value, connectTimeout, readTimeout, maxRetries, retryBackoff);
    }

    public HubOptions withTimeouts(Duration connect, Duration read) {
        return new HubOptions(endpoint, token, cacheDir, offline, quiet, connect, read, maxRetries, retryBackoff);
    }

    public HubOptions withRetries(int retries, Duration backoff) {
        return new HubOptions(endpoint, token, cacheDir, offline, quiet, connectTimeout, readTimeout, retries, backoff);
    }

    private static <T> T parse(String variable, String value, Function<String, T> parser) {
        try {
            return parser.apply(value.strip());
        } catch (IllegalArgumentException e) {
            throw new TinyrtException("environment variable " + variable + " has an invalid value '" + value + "'", e);
        }
    }

    private static URI withoutTrailingSlash(URI uri) {
        String s = uri.toString();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return URI.create(s);
    }
}
