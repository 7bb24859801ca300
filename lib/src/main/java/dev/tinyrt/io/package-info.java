/**
 * Safetensors I/O: a bounds-checked, memory-mapped (FFM, zero-copy) reader for single and sharded checkpoints,
 * a streaming writer, and bit-exact scalar conversions between fp32 and F16/BF16/F8_E4M3.
 * Malformed files are rejected with {@link dev.tinyrt.io.SafetensorsFormatException} naming the file and tensor.
 */
package dev.tinyrt.io;
