package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchmarkJsonTest {
    @TempDir Path tmp;

    @Test
    void reportsRoundTripExactly() {
        BenchmarkReport report = SyntheticResults.report("2026-11-26T12:00:00Z");
        Path f = tmp.resolve("benchmark_x.json");
        BenchmarkJson.write(f, report);
        BenchmarkReport back = BenchmarkJson.read(f);
        assertEquals(report, back);
        assertEquals(BenchmarkJson.toJson(report), BenchmarkJson.toJson(back));
    }

    @Test
    void keysAreTrtllmBenchsNames() throws Exception {
        var tree = BenchmarkJson.MAPPER.readTree(BenchmarkJson.toJson(SyntheticResults.report("2026-11-26T12:00:00Z")));
        var run = tree.path("results").get(0).path("repeats").get(0);
        for (String key : new String[]{"total_latency_ms", "avg_request_latency_ms", "request_throughput_req_s",
                "system_output_throughput_tok_s", "system_total_throughput_tok_s", "output_throughput_per_user_tok_s",
                "request_latency_percentiles_ms"}) {
            assertTrue(run.path("performance").has(key), key);
        }
        for (String key : new String[]{"token_output_speed_tok_s", "avg_ttft_ms", "avg_tpot_ms", "tpot_percentiles",
                "ttft_percentiles", "gen_tps_percentiles"}) {
            assertTrue(run.path("streaming_metrics").has(key), key);
        }
        assertEquals(java.util.List.of("p50", "p90", "p95", "p99", "minimum", "maximum", "average"),
                run.path("streaming_metrics").path("ttft_percentiles").properties().stream()
                        .map(java.util.Map.Entry::getKey).toList());
        assertTrue(run.path("request_info").has("avg_num_concurrent_requests"));
        assertTrue(tree.path("results").get(0).path("summary").path("system_output_throughput_tok_s").has("repeats"));
    }

    @Test
    void aQuantizedKvCacheIsRecordedAndLabelledWhileOlderResultsWithoutItStillRead() throws Exception {
        ObjectNode tree = (ObjectNode) BenchmarkJson.MAPPER.readTree(
                BenchmarkJson.toJson(SyntheticResults.report("2026-11-26T12:00:00Z")));
        ObjectNode executor = (ObjectNode) tree.path("results").get(0).path("executor");
        assertEquals("auto", executor.path("kv_cache_dtype").asText());
        executor.put("kv_cache_dtype", "int8");
        PointResult int8 = BenchmarkJson.parse(tree.toString(), "int8").results().getFirst();
        assertEquals("tinyrt fp16 KV-int8", int8.label());
        executor.remove("kv_cache_dtype");
        PointResult old = BenchmarkJson.parse(tree.toString(), "old").results().getFirst();
        assertNull(old.executor().kvCacheDtype());
        assertEquals("tinyrt fp16", old.label());
        executor.remove("max_num_tokens");
        assertThrows(TinyrtException.class, () -> BenchmarkJson.parse(tree.toString(), "missing"));
        executor.put("max_num_tokens", 2048).put("surprise", 1);
        assertThrows(TinyrtException.class, () -> BenchmarkJson.parse(tree.toString(), "unknown"));
    }

    @Test
    void readingIsStrict() throws Exception {
        ObjectNode tree = (ObjectNode) BenchmarkJson.MAPPER.readTree(
                BenchmarkJson.toJson(SyntheticResults.report("2026-11-26T12:00:00Z")));
        ObjectNode unknown = tree.deepCopy();
        ((ObjectNode) unknown.path("results").get(0)).put("surprise", 1);
        assertThrows(TinyrtException.class, () -> BenchmarkJson.parse(unknown.toString(), "unknown"));
        ObjectNode missing = tree.deepCopy();
        ((ObjectNode) missing.path("results").get(0).path("repeats").get(0).path("performance"))
                .remove("total_latency_ms");
        assertThrows(TinyrtException.class, () -> BenchmarkJson.parse(missing.toString(), "missing"));
        ObjectNode schema = tree.deepCopy().put("schema", "tinyrt-benchmark/0");
        var e = assertThrows(TinyrtException.class, () -> BenchmarkJson.parse(schema.toString(), "old"));
        assertTrue(e.getMessage().contains("tinyrt-benchmark/1"), e.getMessage());
    }
}
