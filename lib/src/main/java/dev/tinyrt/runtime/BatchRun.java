package dev.tinyrt.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * Runs the requests of a batch file through an executor and reports one JSON object per request, in file order:
 * {@code output_ids}, {@code text}, {@code finish_reason} and timings, or {@code error}.
 */
public final class BatchRun {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param failed  requests that could not be served
     * @param summary requests, failures, wall time and output tokens per second of the whole batch
     */
    public record Outcome(List<ObjectNode> lines, int failed, ObjectNode summary) {
    }

    private BatchRun() {
    }

    /**
     * @param stream when not null, tokens are printed here as they arrive, prefixed by the request id when there is
     *               more than one request
     */
    public static Outcome run(Executor executor, List<BatchFile.Entry> entries, PrintStream stream, boolean textOut) {
        boolean prefix = entries.size() > 1;
        List<RequestHandle> handles = new ArrayList<>();
        long start = System.nanoTime();
        for (BatchFile.Entry e : entries) {
            if (e.request() == null) {
                handles.add(null);
                continue;
            }
            Request r = e.request();
            TokenListener listener = stream == null ? null : (id, text) -> {
                String piece = textOut ? text : id + " ";
                if (!piece.isEmpty()) {
                    stream.print(prefix ? "[" + e.id() + "] " + piece + "\n" : piece);
                    stream.flush();
                }
            };
            handles.add(executor.submit(new Request(r.promptIds(), r.params(), listener)));
        }
        List<ObjectNode> lines = new ArrayList<>();
        int failed = 0;
        for (int i = 0; i < entries.size(); i++) {
            BatchFile.Entry e = entries.get(i);
            ObjectNode n = JSON.createObjectNode();
            n.put("id", e.id());
            n.put("line", e.line());
            RequestHandle h = handles.get(i);
            if (h == null) {
                n.put("error", e.error());
                failed++;
            } else {
                try {
                    GenerationResult g = h.result().join();
                    n.setAll(GenerationJson.toJson(g));
                    n.put("e2e_ms", g.ttftMs() + g.decodeMs());
                } catch (CompletionException ex) {
                    n.put("error", ex.getCause().getMessage());
                    failed++;
                }
            }
            lines.add(n);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (stream != null && !prefix) {
            stream.println();
        }
        ObjectNode summary = JSON.createObjectNode();
        summary.put("requests", entries.size());
        summary.put("failed", failed);
        summary.put("seconds", seconds);
        long outTokens = lines.stream().mapToLong(l -> l.path("output_ids").size()).sum();
        summary.put("output_tokens", outTokens);
        summary.put("output_tokens_per_s", outTokens / seconds);
        return new Outcome(lines, failed, summary);
    }
}
