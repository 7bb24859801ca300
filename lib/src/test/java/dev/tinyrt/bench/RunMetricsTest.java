package dev.tinyrt.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** trtllm-bench's metric definitions on synthetic timestamps whose every result is known exactly. */
class RunMetricsTest {
    // id, input, output, start, first token, end (ms)
    static final List<RequestTiming> REQUESTS = List.of(
            new RequestTiming(0, 4, 5, 0, 10, 30),    // TTFT 10, e2e 30, TPOT 20/4 = 5
            new RequestTiming(1, 6, 3, 5, 25, 45),    // TTFT 20, e2e 40, TPOT 20/2 = 10
            new RequestTiming(2, 2, 1, 10, 50, 50),   // TTFT 40, e2e 40, one token: TPOT 0
            new RequestTiming(3, 8, 11, 20, 30, 80)); // TTFT 10, e2e 60, TPOT 50/10 = 5

    @Test
    void perRequestMetricsFollowTheDefinitions() {
        RequestTiming r = REQUESTS.get(3);
        assertEquals(10.0, r.ttftMs());
        assertEquals(60.0, r.e2eMs());
        assertEquals(50.0, r.generationMs());
        assertEquals(5.0, r.tpotMs());
        assertEquals(200.0, r.generationTokPerS(), 1e-12);   // 10 tokens after the first in 50 ms
        assertEquals(11 / 0.060, r.outputTokPerS(), 1e-12);  // with the context phase
        assertEquals(0.0, REQUESTS.get(2).tpotMs());
        assertEquals(0.0, REQUESTS.get(2).generationTokPerS());
    }

    @Test
    void runMetricsAreTrtllmBenchs() {
        RunMetrics m = RunMetrics.of(REQUESTS, new double[]{1, 2, 3});
        assertEquals(4, m.requestInfo().numRequests());
        assertEquals(5.0, m.requestInfo().avgInputLength());      // 20 / 4
        assertEquals(5.0, m.requestInfo().avgOutputLength());     // 20 / 4
        assertEquals(2.125, m.requestInfo().avgNumConcurrentRequests());  // (30+40+40+60) / 80
        RunMetrics.Performance p = m.performance();
        assertEquals(80.0, p.totalLatencyMs());                   // last end 80 - first start 0
        assertEquals(42.5, p.avgRequestLatencyMs());
        assertEquals(50.0, p.requestThroughputReqS(), 1e-9);      // 4 requests / 0.08 s
        assertEquals(250.0, p.systemOutputThroughputTokS(), 1e-9);   // 20 tokens / 0.08 s
        assertEquals(500.0, p.systemTotalThroughputTokS(), 1e-9);    // (20 + 20) / 0.08 s
        assertEquals((5 / 0.03 + 3 / 0.04 + 1 / 0.04 + 11 / 0.06) / 4, p.outputThroughputPerUserTokS(), 1e-9);
        // e2e sorted [30, 40, 40, 60]: p50 = v[int(4 * .5) = 2], p90/p95/p99 = v[3]
        assertEquals(new Percentiles(40, 60, 60, 60, 30, 60, 42.5), p.requestLatencyPercentilesMs());
        RunMetrics.StreamingMetrics s = m.streamingMetrics();
        assertEquals(new Percentiles(20, 40, 40, 40, 10, 40, 20), s.ttftPercentiles());  // [10, 10, 20, 40]
        assertEquals(new Percentiles(5, 10, 10, 10, 0, 10, 5), s.tpotPercentiles());    // [0, 5, 5, 10]
        assertEquals(20.0, s.avgTtftMs());
        assertEquals(5.0, s.avgTpotMs());
        assertEquals((200 + 100 + 0 + 200) / 4.0, s.tokenOutputSpeedTokS(), 1e-9);
        assertEquals(new Percentiles(2, 3, 3, 3, 1, 3, 2), s.itlPercentiles());
        assertEquals(REQUESTS, m.requests());
    }

    @Test
    void percentilesAreNearestRankWithoutInterpolation() {
        double[] hundred = IntStream.rangeClosed(1, 100).mapToDouble(i -> i).toArray();
        // numpy would interpolate p50 to 50.5; trtllm-bench takes sorted[int(100 * 0.5)] = 51
        assertEquals(new Percentiles(51, 91, 96, 100, 1, 100, 50.5), Percentiles.of(hundred));
        double[] shuffled = {7, 3, 9, 1, 5};
        assertEquals(new Percentiles(5, 9, 9, 9, 1, 9, 5), Percentiles.of(shuffled));
        assertEquals(new Percentiles(4, 4, 4, 4, 4, 4, 4), Percentiles.of(4));
        assertEquals(Percentiles.EMPTY, Percentiles.of());
    }

    @Test
    void repeatsAreSummarisedByMedianAndSpread() {
        assertEquals(new Stats(3, 1, 10, 3), Stats.of(10, 1, 3));
        assertEquals(new Stats(2.5, 1, 10, 4), Stats.of(10, 1, 3, 2));
        RunMetrics a = RunMetrics.of(REQUESTS, new double[]{1});
        RunMetrics b = RunMetrics.of(List.of(new RequestTiming(0, 1, 2, 0, 100, 200)), new double[]{100});
        PointSummary s = PointSummary.of(List.of(a, b, a));
        assertEquals(250.0, s.systemOutputThroughputTokS().median(), 1e-9);
        assertEquals(10.0, s.systemOutputThroughputTokS().min(), 1e-9);  // 2 tokens / 0.2 s
        assertEquals(3, s.systemOutputThroughputTokS().count());
        assertEquals(20.0, s.avgTtftMs().median());
        assertEquals(60.0, s.p99RequestLatencyMs().median());
        assertEquals(200.0, s.p99RequestLatencyMs().max());
    }

    @Test
    void histogramBinsEveryValueOnce() {
        Histogram h = Histogram.of(new double[]{0, 1, 2, 3, 4, 10}, 5);
        assertEquals(List.of(0.0, 2.0, 4.0, 6.0, 8.0, 10.0), h.binEdges());
        assertEquals(List.of(2L, 2L, 1L, 0L, 1L), h.counts());
        assertEquals(List.of(3L), Histogram.of(new double[]{5, 5, 5}, 40).counts());
    }
}
