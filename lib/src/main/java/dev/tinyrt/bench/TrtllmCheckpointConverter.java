package dev.tinyrt.bench;

import dev.tinyrt.checkpoint.BuildConfigLoader;
import dev.tinyrt.checkpoint.TrtllmConverter;

import java.nio.file.Path;

/**
 * The benchmark's {@link CheckpointConverter}: convert_checkpoint.java's conversion (calibrated with the bundled
 * calibration text where the build config asks for it), registered in META-INF/services.
 */
public final class TrtllmCheckpointConverter implements CheckpointConverter {
    @Override
    public void convert(Path hfModel, Path buildConfig, Path outDir) {
        TrtllmConverter.convert(hfModel, BuildConfigLoader.load(buildConfig), null, outDir);
    }
}
