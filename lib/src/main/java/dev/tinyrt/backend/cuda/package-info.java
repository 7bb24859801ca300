/**
 * The CUDA backend: tinyrt's own kernels and cuBLAS driven from Java through FFM, no JNI and no native code of our
 * own at run time (only the NVIDIA driver and cuBLAS, found by {@link dev.tinyrt.backend.cuda.NativeLibraries}).
 *
 * <h2>Layers</h2>
 * <ul>
 *   <li>Bindings: {@code CudaDriver} (driver API: context, module, memory, streams, events, graphs, launches) and
 *       {@code Cublas} (cublasGemmEx). Every failing call throws {@link dev.tinyrt.backend.cuda.CudaException}
 *       naming the call with CUDA's error name and text.</li>
 *   <li>{@link dev.tinyrt.backend.cuda.CudaDevice}: the process's GPU, opened once (primary context shared with
 *       cuBLAS, the kernel module from {@code kernels.fatbin}). Without a driver, device or kernels it reports why,
 *       and {@code --backend auto} then picks the CPU.</li>
 *   <li>{@link dev.tinyrt.backend.cuda.CudaBackend}: the {@link dev.tinyrt.backend.Backend} ops on one stream with
 *       fp16 weights and activations (residual stream and logits fp32), a paged fp16 KV cache (per layer K and V
 *       {@code [blocks][kv_heads][block_size][head_dim]}), device memory owned by arenas (the backend's, one per KV
 *       storage) that {@code close()} frees.</li>
 * </ul>
 *
 * <h2>Kernels</h2> (lib/src/main/cuda, compiled by nvcc during the Maven build for sm_80/86/89/90 + PTX):
 * RMSNorm alone and fused with the residual add (one round trip per row); a bandwidth-bound GEMV for up to 8 token
 * rows (16-byte streaming loads, warp per row), also for the fused gate|up weight with SwiGLU in its epilogue; RoPE
 * fused with the KV-cache write; causal attention for prefill (flash style, tiled, online softmax) and decode
 * (split-K flash-decoding, GQA-aware, every load of a tile in flight at once, RoPE + KV write fused in); embedding,
 * gather, greedy argmax. Weight-only quantized products (qgemv.cuh): W8A16 (per-row scales) and W4A16 (per-group
 * scales, AWQ's activation pre-scale) GEMVs for up to 8 rows that stream the quantized bytes, re-packed at load
 * ({@code WeightPacking}), and dequantize them in registers; prefill dequantizes the weight into an fp16 scratch
 * matrix for cuBLAS. FP8 (e4m3, sm_89+: refused with a clear error on older GPUs) runs through the same GEMVs on
 * activations first quantized to e4m3 with the static activation scale ({@code tinyrt_quant_e4m3}, the CPU
 * backend's rounding). W8A8 (SmoothQuant) keeps W8A16's layout and GEMVs; its activations are first multiplied by
 * the pre-scale and quantized to int8 per token ({@code tinyrt_quant_int8_token}, the CPU backend's rounding), so
 * the product is the int8 levels times the token's scale. Shapes the quantized kernels cannot read are dequantized
 * to fp16 at load. Long rows (the down projection) are split over several warps (split-K). At batch 1 the block
 * boundaries are fused into the GEMVs (unless -Dtinyrt.cuda.noNormFusion=true): the residual add into the product
 * before (o_proj, down: {@code *_res} kernels) and the RMSNorm into the products after (q|k|v, gate|up: {@code *_norm}
 * kernels recompute the norm of the residual row in every block, the same bits as the norm kernel), so a layer is
 * five launches; the backend holds such ops back one call to see what follows. Products choose per shape between the
 * GEMV and cuBLAS ({@code MatmulTactics}: timed on
 * first use). On Hopper every kernel is launched with programmatic dependent launch (it may start while the
 * previous one finishes and waits with griddepcontrol.wait), hiding most of the gap between kernels.
 *
 * <h2>CUDA graphs</h2> {@link dev.tinyrt.model.LlamaModel} runs each step's device work through
 * {@link dev.tinyrt.backend.Backend#runStep}. The backend uploads the step's metadata (token ids, positions, slots,
 * block tables, tiles; {@code StepPlan}) in one copy to a fixed device buffer that every kernel reads, so a step
 * can be recorded by stream capture and replayed with new values. {@code StepGraphs} records a step the second
 * time its key (the model's buffers, the KV storage, the step's shape: tokens, block-table width, rows per
 * sequence, logit rows) is seen and replays it from then on; buffers that move invalidate the recordings.
 *
 * <h2>Checking without a GPU</h2> The tests build a fake libcuda/libcublas (lib/src/test/native) that checks every
 * launch against the memory its kernel would touch, and, in the slow variant, runs the real kernel sources on the
 * CPU ({@code emu.h}). On a GPU, {@code environment/gpu/cuda_check.sh} runs {@link
 * dev.tinyrt.backend.cuda.CudaSelfTest}, HF parity, {@link dev.tinyrt.backend.cuda.CudaSpeed} and {@link
 * dev.tinyrt.backend.cuda.CudaLeakCheck}.
 */
package dev.tinyrt.backend.cuda;
