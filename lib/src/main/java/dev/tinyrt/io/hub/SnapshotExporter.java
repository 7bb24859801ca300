package dev.tinyrt.io.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Copies a snapshot's files into a plain folder as real files (no links into the cache), for tools that take a
 * model folder ({@code --model DIR}) and for users who want the files outside the cache.
 */
final class SnapshotExporter {
    private SnapshotExporter() {
    }

    static void export(Path snapshot, List<String> files, Path outDir) {
        try {
            for (String file : files) {
                Path source = snapshot.resolve(SafeNames.requireRelativePath(file));
                Path target = outDir.resolve(file);
                Files.createDirectories(target.getParent());
                Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
                Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING); // follows the snapshot's symlink
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
