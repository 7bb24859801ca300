package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.List;

/**
 * A list of requests to serve all at once (an offline batch, as trtllm-bench's throughput mode submits it): prompt
 * ids and how many tokens each request generates (EOS is ignored, so the lengths are exact).
 */
public record Workload(String name, String description, List<Request> requests) {

    public record Request(int[] promptIds, int outputTokens) {
        public int totalTokens() {
            return promptIds.length + outputTokens;
        }
    }

    public Workload {
        requests = List.copyOf(requests);
        if (requests.isEmpty()) {
            throw new IllegalArgumentException("a workload needs at least one request");
        }
    }

    public long outputTokens() {
        return requests.stream().mapToLong(Request::outputTokens).sum();
    }

    public long inputTokens() {
        return requests.stream().mapToLong(r -> r.promptIds().length).sum();
    }

    public int longest() {
        return requests.stream().mapToInt(Request::totalTokens).max().orElseThrow();
    }

    /** The workload with every request's ids passed through {@code map} (lengths unchanged). */
    public Workload mapIds(java.util.function.IntUnaryOperator map) {
        return new Workload(name, description, requests.stream()
                .map(r -> new Request(Arrays.stream(r.promptIds()).map(map).toArray(), r.outputTokens())).toList());
    }

    /** Lengths summarized for reports: count, means and percentiles of input, output and total tokens. */
    public ObjectNode summary() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("name", name);
        n.put("description", description);
        n.put("requests", requests.size());
        n.set("input_tokens", lengths(requests.stream().mapToInt(r -> r.promptIds().length).toArray()));
        n.set("output_tokens", lengths(requests.stream().mapToInt(Request::outputTokens).toArray()));
        n.set("total_tokens", lengths(requests.stream().mapToInt(Request::totalTokens).toArray()));
        return n;
    }

    private static ObjectNode lengths(int[] values) {
        int[] v = values.clone();
        Arrays.sort(v);
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("mean", Arrays.stream(v).average().orElse(0));
        n.put("min", v[0]);
        n.put("p50", v[(v.length - 1) / 2]);
        n.put("p90", v[(int) Math.ceil(0.9 * v.length) - 1]);
        n.put("max", v[v.length - 1]);
        n.put("sum", Arrays.stream(v).asLongStream().sum());
        return n;
    }
}
