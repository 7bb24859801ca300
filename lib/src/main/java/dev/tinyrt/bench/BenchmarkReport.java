package dev.tinyrt.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * Everything one benchmark run measured, with its provenance: the file format of data/results/benchmark_*.json,
 * written alike by tinyrt and by environment/hf_baseline.py.
 *
 * @param schema   {@value #SCHEMA}
 * @param machine  CPU, cores, memory, OS of the machine that ran it
 * @param software runtime versions ({"java": ...} or {"python": ..., "torch": ..., "transformers": ...})
 * @param gpu      the GPU, or null on a machine without one
 */
public record BenchmarkReport(String schema, String date, String command, String commit, Boolean worktreeClean,
                              JsonNode machine, JsonNode software, GpuInfo gpu, ModelInfo model,
                              WorkloadInfo workload, List<SystemInfo> systems, List<PointResult> results) {
    public static final String SCHEMA = "tinyrt-benchmark/1";

    public BenchmarkReport {
        systems = List.copyOf(systems);
        results = List.copyOf(results);
    }

    /** This report with another run's systems and results added (the baseline measured on the same workload). */
    public BenchmarkReport with(List<SystemInfo> moreSystems, List<PointResult> moreResults) {
        List<SystemInfo> s = new java.util.ArrayList<>(systems);
        s.addAll(moreSystems);
        List<PointResult> r = new java.util.ArrayList<>(results);
        r.addAll(moreResults);
        return new BenchmarkReport(schema, date, command, commit, worktreeClean, machine, software, gpu, model,
                workload, s, r);
    }
}
