package dev.tinyrt.memory;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The KV cache and the activation workspace of a loaded model, computed and measured, and the whole process (or
 * device) against the sum of the parts. The KV pool is allocated through the backend exactly as the executor
 * allocates it; the workspace is what one forward step of {@code activationTokens} tokens leaves allocated.
 */
public final class EngineMeasurement {

    /**
     * @param engineBytesPerToken what the backend's cache reports per token
     * @param engineTotalBytes    what the backend's cache reports for the whole pool
     */
    public record Result(KvDtype engineDtype, long engineBytesPerToken, long computedBytesPerToken, long kvTokens,
                         long engineTotalBytes, Component kv, int activationTokens, Component activations,
                         Component total, Map<String, Long> nmtGrowth) {

        public ObjectNode toJson(LlamaConfig c) {
            ObjectNode n = JsonNodeFactory.instance.objectNode();
            ObjectNode kvNode = n.putObject("kv_cache");
            kvNode.put("formula", "2 x layers x kv_heads x head_dim x element bytes");
            kvNode.put("engine_dtype", engineDtype.label());
            kvNode.put("engine_bytes_per_token", engineBytesPerToken);
            kvNode.put("computed_bytes_per_token", computedBytesPerToken);
            var per = kvNode.putArray("bytes_per_token_by_dtype");
            for (KvDtype d : List.of(KvDtype.FP32, KvDtype.FP16, KvDtype.INT8, KvDtype.FP8)) {
                per.addObject().put("dtype", d.label()).put("bytes_per_token", MemoryFormulas.kvBytesPerToken(c, d));
            }
            kvNode.put("pool_tokens", kvTokens);
            kvNode.put("engine_total_bytes", engineTotalBytes);
            kvNode.set("pool", kv.toJson());
            ObjectNode act = activations.toJson();
            act.put("tokens", activationTokens);
            n.set("activations", act);
            ObjectNode tot = total.toJson();
            ObjectNode growth = tot.putObject("nmt_committed_growth");
            nmtGrowth.forEach(growth::put);
            n.set("process_total", tot);
            return n;
        }
    }

    private EngineMeasurement() {
    }

    /**
     * @param start    the process (device) before the model was loaded
     * @param weights  computed bytes of the loaded weights (with RoPE tables)
     * @param kvTokens KV pool to allocate (rounded up to whole blocks of the default size, and to at least
     *                 {@code activationTokens})
     */
    public static Result measure(LlamaModel model, MemoryProbe probe, MemorySnapshot start, long weights,
                                 long kvTokens, int activationTokens, ActivationBytes elements) {
        LlamaConfig c = model.config();
        int bs = KvCache.DEFAULT_BLOCK_SIZE;
        int sequencesNeeded = (activationTokens + model.config().maxPositionEmbeddings() - 1)
                / model.config().maxPositionEmbeddings();
        // each sequence of the activation step rounds up to whole blocks of its own
        int blocks = (int) ((Math.max(kvTokens, activationTokens) + bs - 1) / bs) + sequencesNeeded;
        MemorySnapshot s0 = probe.snapshot();
        try (KvCache cache = model.kvCache(blocks, bs)) {
            MemorySnapshot s1 = probe.snapshot();
            long tokens = (long) blocks * bs;
            long perToken = cache.bytesPerToken();
            KvDtype dtype = KvDtype.parse(cache.dtype().label());
            long computedPerToken = MemoryFormulas.kvBytesPerToken(c, dtype);
            Measured kvMeasured = Measured.between(s0, s1);
            Component kv = new Component("kv cache (" + dtype.label() + ", " + tokens + " tokens)",
                    computedPerToken * tokens, kvMeasured, explain(computedPerToken * tokens, kvMeasured,
                    MemoryFormulas.kvArraysPerLayer(c, tokens, dtype), "one keys and one values array per layer"));

            model.forward(batch(activationTokens, c.maxPositionEmbeddings(), bs), cache);
            MemorySnapshot s2 = probe.snapshot();
            int sequences = (activationTokens + c.maxPositionEmbeddings() - 1) / c.maxPositionEmbeddings();
            long actComputed = MemoryFormulas.activationBytes(c, activationTokens, sequences, elements);
            Measured actMeasured = Measured.between(s1, s2).withoutMapped("weight pages this first step read "
                    + "are not activations");
            Component act = new Component("activations (" + activationTokens + "-token step)", actComputed,
                    actMeasured, explain(actComputed, actMeasured, MemoryFormulas.activationArrays(c,
                    activationTokens, sequences, elements), "one array per buffer"));

            long computedTotal = weights + kv.computedBytes() + actComputed;
            long region = HeapFootprint.regionBytes();
            long padded = weights + HeapFootprint.of(MemoryFormulas.kvArraysPerLayer(c, tokens, dtype), region)
                    + HeapFootprint.of(MemoryFormulas.activationArrays(c, activationTokens, sequences, elements),
                    region);
            Component total = total(start, s2, computedTotal, padded);
            return new Result(dtype, perToken, computedPerToken, tokens, cache.totalBytes(), kv, activationTokens,
                    act, total, growth(start, s2));
        }
    }

    /** One step of {@code tokens} prompt tokens split into sequences of at most {@code maxPositions}. */
    static StepBatch batch(int tokens, int maxPositions, int blockSize) {
        int[] ids = new int[tokens];
        int[] positions = new int[tokens];
        List<StepBatch.Chunk> chunks = new ArrayList<>();
        List<Integer> logitRows = new ArrayList<>();
        int nextBlock = 0;
        for (int start = 0; start < tokens; start += maxPositions) {
            int n = Math.min(maxPositions, tokens - start);
            int[] table = new int[(n + blockSize - 1) / blockSize];
            for (int b = 0; b < table.length; b++) {
                table[b] = nextBlock++;
            }
            for (int i = 0; i < n; i++) {
                ids[start + i] = i == 0 ? 1 : 3 + (start + i) % 997;
                positions[start + i] = i;
            }
            chunks.add(new StepBatch.Chunk(start, n, n, table));
            logitRows.add(start + n - 1);
        }
        return new StepBatch(ids, positions, chunks, logitRows.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The process's resident set (or the device's used bytes) against weights + KV + activations. On the CPU the
     * JVM's own growth is measured and taken out: the heap's headroom (committed but unused pages) and NMT's
     * categories other than the heap and "Other" (class metadata, JIT code, GC structures, threads).
     */
    static Component total(MemorySnapshot start, MemorySnapshot end, long computed, long padded) {
        if (end.device() != null) {
            long used = end.device().usedBytes() - start.device().usedBytes();
            Measured m = Measured.of(used, "device used bytes now minus right after the backend created its context "
                    + "(cuMemGetInfo)");
            String why = Math.abs(used - computed) <= Component.TOLERANCE * computed ? null : String.format(Locale.ROOT,
                    "%,d bytes beyond the parts: library workspaces (cuBLAS), the allocator's pools and rounding, "
                            + "and kernel modules", used - computed);
            return new Component("device total", computed, m, why);
        }
        long rss = end.rss() - start.rss();
        long jvm = jvmNativeGrowth(start, end);
        long heapUsed = end.heapUsed() - start.heapUsed();
        long heapCommitted = end.heapCommitted() - start.heapCommitted();
        if (HeapResidency.pretouched()) {
            // the whole heap was resident before the model: RSS grew only outside it
            Measured m = new Measured(rss - jvm + heapUsed, heapUsed, end.rssAnon() - start.rssAnon(),
                    end.rssFile() - start.rssFile(), 0, 0, String.format(Locale.ROOT, "resident set growth (VmRSS, "
                    + "%,d; the heap was fully resident before: -Xms = -Xmx with -XX:+AlwaysPreTouch) minus the "
                    + "JVM's own native growth (NMT categories but Java Heap and Other, %,d) plus heap used growth "
                    + "(%,d)", rss, jvm, heapUsed));
            return new Component("process total", computed, m, explainProcess(m, computed, padded,
                    start.nmt().isEmpty(), null));
        }
        Measured m = new Measured(rss, heapUsed, end.rssAnon() - start.rssAnon(), end.rssFile() - start.rssFile(), 0,
                0, "resident set growth (VmRSS) now minus before the model was loaded");
        String heap = String.format(Locale.ROOT, "the heap was not resident beforehand, so its growth is in the "
                + "resident set: committed heap grew by %,d bytes for %,d bytes more in use (G1 expands and keeps "
                + "what step buffers once needed); JVM native growth (NMT) %,d bytes. Run with -Xms = -Xmx and "
                + "-XX:+AlwaysPreTouch (memory_analysis.java does) for an exact process check", heapCommitted,
                heapUsed, jvm);
        return new Component("process total", computed, m, explainProcess(m, computed, padded,
                start.nmt().isEmpty(), heap));
    }

    static long jvmNativeGrowth(MemorySnapshot start, MemorySnapshot end) {
        long sum = 0;
        for (var e : growth(start, end).entrySet()) {
            String k = e.getKey();
            if (!k.equals("Java Heap") && !k.equals("Other") && !k.equals(NativeMemoryTracking.TOTAL_KEY)) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    static String explainProcess(Measured m, long computed, long padded, boolean noNmt, String heapNote) {
        if (Math.abs(m.bytes() - computed) <= Component.TOLERANCE * computed) {
            return null;
        }
        StringBuilder why = new StringBuilder(String.format(Locale.ROOT, "%,d bytes beyond the computed %,d",
                m.bytes() - computed, computed));
        if (padded > computed) {
            double off = (double) (m.bytes() - padded) / padded;
            why.append(String.format(Locale.ROOT, "; counting G1's humongous-region padding of the KV and "
                    + "activation arrays (see those lines) the model occupies %,d bytes, %+.1f %% from the "
                    + "measurement", padded, 100 * off));
        }
        if (heapNote != null) {
            why.append("; ").append(heapNote);
        }
        if (noNmt) {
            why.append("; without -XX:NativeMemoryTracking=summary the JVM's own native growth cannot be taken out");
        }
        return why.toString();
    }

    static Map<String, Long> growth(MemorySnapshot start, MemorySnapshot end) {
        Map<String, Long> g = new java.util.LinkedHashMap<>();
        end.nmt().forEach((k, v) -> g.put(k, v - start.nmt(k)));
        return g;
    }

    /**
     * Why a heap-held component measures more than computed: G1's humongous regions, when the arrays' footprint
     * explains the measurement; else the parts of the measurement.
     */
    static String explain(long computed, Measured m, long[] arrays, String layout) {
        if (Math.abs(m.bytes() - computed) <= Component.TOLERANCE * computed) {
            return null;
        }
        if (m.device() != 0) {
            return String.format(Locale.ROOT, "device allocations grew by %,d bytes for %,d computed: allocator "
                    + "granularity and library workspaces (cuBLAS) allocated on first use", m.bytes(), computed);
        }
        long region = HeapFootprint.regionBytes();
        long footprint = HeapFootprint.of(arrays, region);
        if (region > 0 && Math.abs(m.bytes() - footprint) <= Component.TOLERANCE * footprint) {
            return String.format(Locale.ROOT, "G1 keeps every array of half a region (%,d-byte regions) or more in "
                    + "whole regions of its own (humongous objects): with %s (%d arrays) the %,d computed bytes "
                    + "occupy %,d heap bytes, which is what was measured (%,d); off-heap or region-sized buffers "
                    + "would avoid the %,d bytes of padding", region, layout, arrays.length, computed, footprint,
                    m.bytes(), footprint - computed);
        }
        return String.format(Locale.ROOT, "measured heap %,d + native %,d bytes against %,d computed (%,d with G1 "
                + "region padding): other objects allocated and kept by this step", m.heap(), m.nativeBytes(),
                computed, footprint);
    }
}
