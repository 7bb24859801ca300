package dev.tinyrt.bench;

import java.util.List;
import java.util.function.ToDoubleFunction;

/** The headline metrics of one point over its repeats: median and spread of each run's value. */
public record PointSummary(Stats requestThroughputReqS, Stats systemOutputThroughputTokS,
                           Stats systemTotalThroughputTokS, Stats outputThroughputPerUserTokS,
                           Stats tokenOutputSpeedTokS, Stats avgTtftMs, Stats avgTpotMs, Stats avgRequestLatencyMs,
                           Stats p99RequestLatencyMs) {

    public static PointSummary of(List<RunMetrics> runs) {
        return new PointSummary(
                over(runs, r -> r.performance().requestThroughputReqS()),
                over(runs, r -> r.performance().systemOutputThroughputTokS()),
                over(runs, r -> r.performance().systemTotalThroughputTokS()),
                over(runs, r -> r.performance().outputThroughputPerUserTokS()),
                over(runs, r -> r.streamingMetrics().tokenOutputSpeedTokS()),
                over(runs, r -> r.streamingMetrics().avgTtftMs()),
                over(runs, r -> r.streamingMetrics().avgTpotMs()),
                over(runs, r -> r.performance().avgRequestLatencyMs()),
                over(runs, r -> r.performance().requestLatencyPercentilesMs().p99()));
    }

    private static Stats over(List<RunMetrics> runs, ToDoubleFunction<RunMetrics> metric) {
        return Stats.of(runs.stream().mapToDouble(metric).toArray());
    }
}
