package dev.tinyrt.bench;

/** The GPU a result was measured on, as NVML (or torch, for the HF baseline) reports it. */
public record GpuInfo(String name, String driver, String cudaDriverVersion, long memoryTotalBytes) {
}
