package dev.tinyrt.bench;

import dev.tinyrt.model.LlamaConfig;

import java.nio.file.Path;

/** Which model a benchmark ran: its directory name, path and shape. */
public record ModelInfo(String name, String path, long parameters, int vocabSize, int hiddenSize, int numLayers,
                        int numHeads, int numKvHeads, int maxPositionEmbeddings, String dtype) {

    public static ModelInfo of(Path dir, LlamaConfig c) {
        Path abs = dir.toAbsolutePath().normalize();
        // inside the checkpoint the path is written relative to it, so results do not name one machine's folders
        String path = dev.tinyrt.ProjectHome.find().filter(abs::startsWith).map(h -> h.relativize(abs).toString())
                .orElse(abs.toString());
        return new ModelInfo(abs.getFileName().toString(), path, c.parameterCount(), c.vocabSize(),
                c.hiddenSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.maxPositionEmbeddings(), c.torchDtype());
    }
}
