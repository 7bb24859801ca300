package dev.tinyrt.bench;

/**
 * Memory of one benchmark point; a field is null where the system cannot measure it.
 *
 * @param peakRssBytes          peak resident set of the process (CPU: weights touched, KV cache, heap, native)
 * @param peakHeapBytes         peak used Java heap (tinyrt only)
 * @param weightsBytes          weights as the engine holds them
 * @param kvCacheBytes          KV-cache capacity allocated for the point
 * @param gpuPeakUsedBytes      peak device memory in use (NVML, whole device) during the point
 * @param gpuBaselineUsedBytes  device memory in use before the model was loaded (subtract it for this process)
 * @param gpuPeakAllocatedBytes peak bytes held by the framework's allocator (torch.cuda.max_memory_allocated)
 */
public record MemoryUsage(Long peakRssBytes, Long peakHeapBytes, Long weightsBytes, Long kvCacheBytes,
                          Long gpuPeakUsedBytes, Long gpuBaselineUsedBytes, Long gpuPeakAllocatedBytes) {

    /** Peak memory the point needed: device memory above the baseline on a GPU, else the process's RSS. */
    public Long headlineBytes() {
        if (gpuPeakUsedBytes != null) {
            return gpuPeakUsedBytes - (gpuBaselineUsedBytes == null ? 0 : gpuBaselineUsedBytes);
        }
        return peakRssBytes;
    }
}
