package dev.tinyrt.quant;

import dev.tinyrt.cli.Progress;
import dev.tinyrt.model.LlamaModel;

import java.util.List;

/** Runs the engine over calibration samples with a {@link CalibrationCollector} watching every linear input. */
public final class Calibrator {
    private Calibrator() {
    }

    /**
     * One fresh prefill per sample (positions from 0), logits only for the last row so the LM head costs nothing.
     */
    public static CalibrationStats run(LlamaModel model, List<int[]> samples, CalibrationCollector collector) {
        int seqLen = samples.isEmpty() ? 0 : samples.getFirst().length;
        model.observe(collector);
        try (Progress progress = Progress.start("calibrate", samples.size(), "samples")) {
            for (int[] ids : samples) {
                model.lastLogits(ids);
                progress.step(1);
            }
        } finally {
            model.observe(null);
        }
        return collector.result(samples.size(), seqLen);
    }
}
