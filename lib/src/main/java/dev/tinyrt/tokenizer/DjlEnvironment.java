package dev.tinyrt.tokenizer;

import java.nio.file.Path;

/**
 * Settings DJL reads before its first use. DJL looks each one up as an environment variable first and then as a
 * system property, so setting the property only fills in what the user left unset.
 */
final class DjlEnvironment {
    /** When not "true", DJL reports every tokenizer load to a remote endpoint. */
    static final String OPT_OUT_TRACKING = "OPT_OUT_TRACKING";
    /** Where DJL unpacks its native library; its default is ~/.djl.ai. */
    static final String CACHE_DIR = "DJL_CACHE_DIR";
    /**
     * On a machine with CUDA, DJL picks a CUDA build of its tokenizer library and tries to download it; the jar
     * ships only the CPU build, which is all a tokenizer needs.
     */
    static final String RUST_FLAVOR = "RUST_FLAVOR";

    private DjlEnvironment() {
    }

    static synchronized void configure() {
        setIfUnset(OPT_OUT_TRACKING, "true");
        setIfUnset(CACHE_DIR, defaultCacheDir().toString());
        setIfUnset(RUST_FLAVOR, "cpu");
    }

    static Path defaultCacheDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "tinyrt", "djl");
    }

    private static void setIfUnset(String name, String value) {
        String env = System.getenv(name);
        if ((env == null || env.isEmpty()) && System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }
}
