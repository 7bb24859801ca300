/**
 * The CPU backend: fp32 arithmetic with the Vector API over weights kept in their stored precision.
 *
 * <p><b>Batch invariance.</b> Every output element is computed by the same operations in the same order whatever
 * the number of tokens in the step, the tile it falls into or the thread count, so a token decoded alone gets
 * exactly the logits it gets inside a long prefill or next to other sequences:
 * <ul>
 *   <li>dot products (all matmuls, norms) follow the scheme in {@link dev.tinyrt.backend.cpu.VectorMath}: one
 *       vector accumulator over k, lanes summed left to right, then the scalar tail;</li>
 *   <li>attention ({@link dev.tinyrt.backend.cpu.Attention}) fixes each score, softmax sum and value sum by the
 *       query's own position;</li>
 *   <li>exp is {@link dev.tinyrt.backend.cpu.VectorMath#exp}, the same bits interpreted or compiled.</li>
 * </ul>
 *
 * <p><b>Where the time goes.</b> Decode (a few tokens per step) streams every weight byte once:
 * {@link dev.tinyrt.backend.cpu.Matmul} calls the weight's fused dot row by row, one contiguous stream per thread
 * (two rows read side by side measured slower on this machine's memory). Weights are zero-copy views of the
 * mapped checkpoint, except matrices wider than 2048 columns, which are copied into column blocks
 * ({@link dev.tinyrt.backend.cpu.ColumnBlockedWeight}) so that x stays in L1 while they stream (TinyLlama's down
 * projection: 0.5 GB copied, decoded about 1.6 times faster). Prefill widens 16 weight rows at a time
 * into an fp32 block and multiplies it with 4x4 register tiles (rows x tokens). {@link
 * dev.tinyrt.backend.cpu.Parallel} hands chunks to resident workers with a spin-then-park hand-off, since a
 * decode step makes a few hundred short parallel calls.
 *
 * <p><b>Adding a weight format</b>: implement {@link dev.tinyrt.backend.cpu.CpuWeight}'s
 * {@code widenRows} (exact fp32 values, used by the prefill tiles) and {@code dot} (fused decode kernel that
 * follows the accumulation scheme, so its result equals the tiles' bit for bit);
 * {@code MatmulTest.everyPathGivesTheReferenceBits} is the check to extend.
 *
 * <p><b>Quantized formats</b> ({@link dev.tinyrt.backend.cpu.QuantizedWeights}): W8A16, W4A16/AWQ and FP8 widen
 * their bytes in registers, four rows at a time from an interleaved copy ({@link
 * dev.tinyrt.backend.cpu.InterleavedRows}); W8A8 multiplies int8 by int8 in int32 lanes. A format that pre-scales
 * or quantizes its activations says so in {@code CpuWeight.input()}: {@link dev.tinyrt.backend.cpu.Matmul} prepares
 * the token rows once per matmul ({@link dev.tinyrt.backend.cpu.InputFormat}), runs the same decode and tile paths
 * over them, then applies per-token and per-row scales ({@code CpuWeight.scaleOutputs}). {@code
 * QuantizedMatmulTest} checks every path against a scalar emulation, {@code QuantizedEngineTest} whole converted
 * checkpoints.
 */
package dev.tinyrt.backend.cpu;
