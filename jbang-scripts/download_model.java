///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//DEPS dev.tinyrt:tinyrt:0.1.0-SNAPSHOT
//JAVA_OPTIONS --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
//COMPILE_OPTIONS --add-modules jdk.incubator.vector

import dev.tinyrt.io.hub.HubDownloader;
import dev.tinyrt.io.hub.HubOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "download_model", mixinStandardHelpOptions = true,
        description = {"Downloads a model repository from the Hugging Face hub into the local cache (resumable, "
                + "sha256-checked) and prints the folder that holds it.",
                "Environment: HF_TOKEN (private/gated repos), HF_ENDPOINT, HF_HUB_OFFLINE=1, TINYRT_HUB_CACHE."})
public class download_model implements Callable<Integer> {
    @Parameters(paramLabel = "REPO_ID", description = "Repository id, e.g. TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    String repoId;

    @Option(names = "--revision", defaultValue = "main", description = "Branch, tag or commit (default: ${DEFAULT-VALUE})")
    String revision;

    @Option(names = "--out", paramLabel = "DIR", description = "Also copy the files into DIR as real files (for --model DIR)")
    Path out;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Cache folder (default: TINYRT_HUB_CACHE or ~/.cache/tinyrt/hub)")
    Path cacheDir;

    @Option(names = "--include", paramLabel = "GLOB", description = "Only files matching GLOB (repeatable), e.g. '*.json'")
    List<String> include = new ArrayList<>();

    @Option(names = "--endpoint", paramLabel = "URL", description = "Hub address (default: HF_ENDPOINT or https://huggingface.co)")
    URI endpoint;

    @Option(names = "--offline", description = "No network: use the cache only (also HF_HUB_OFFLINE=1)")
    boolean offline;

    @Option(names = "--quiet", description = "No progress bars")
    boolean quiet;

    @Override
    public Integer call() {
        HubOptions options = HubOptions.fromEnvironment();
        if (endpoint != null) {
            options = options.withEndpoint(endpoint);
        }
        if (cacheDir != null) {
            options = options.withCacheDir(cacheDir);
        }
        options = options.withOffline(options.offline() || offline).withQuiet(quiet);
        try (HubDownloader downloader = new HubDownloader(options)) {
            Path snapshot = downloader.download(repoId, revision, include, out);
            System.out.println(out != null ? out.toAbsolutePath().normalize() : snapshot);
        }
        return 0;
    }

    public static void main(String... a) {
        dev.tinyrt.cli.CommandRunner.exit(new download_model(), a);
    }
}
