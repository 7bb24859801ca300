package dev.tinyrt.io.hub;

import dev.tinyrt.TinyrtException;

import java.util.regex.Pattern;

/**
 * A model repository id on the hub: {@code org/name}, or a bare legacy {@code name} such as {@code gpt2}.
 * Validated up front because it becomes part of URLs and of a folder name in the cache.
 */
public record RepoId(String value) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    public RepoId {
        String[] parts = value.split("/", -1);
        boolean valid = parts.length <= 2 && !value.contains("--") && !value.contains("..");
        for (String part : parts) {
            valid &= PART.matcher(part).matches() && part.length() <= 96;
        }
        if (!valid) {
            throw new TinyrtException("invalid repository id '" + value
                    + "': expected 'org/name' made of letters, digits, '.', '_' and '-'");
        }
    }

    public static RepoId of(String value) {
        return new RepoId(value);
    }

    /** Folder of this repository in the cache, as huggingface_hub names it: {@code models--org--name}. */
    public String cacheFolderName() {
        return "models--" + value.replace("/", "--");
    }

    @Override
    public String toString() {
        return value;
    }
}
