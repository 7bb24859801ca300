package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.SampledTokens;
import dev.tinyrt.backend.SamplingRow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Token sampling on the GPU (lib/src/main/cuda/sampling.cuh): uploads each row's parameters (and the ids its
 * repetition penalty applies to) in one copy, runs one block per row, and copies back only the chosen ids and the
 * requested log-probabilities, in one copy. Not part of the recorded step graphs: it runs after the step, eagerly.
 */
final class DeviceSampler implements AutoCloseable {
    /** Words per row in the kernel's parameter array; the indexes are sampling.cuh's P_* constants. */
    static final int ROW_WORDS = 12;
    /** Weights are 40-bit fixed-point integers summed in 64 bits: at most 2^23 tokens per row. */
    static final int MAX_VOCAB = 1 << 23;
    static final int DEFAULT_THREADS = 1024;

    /** Launches a kernel on the backend's stream (with its launch settings). */
    interface Launcher {
        void launch(String kernel, int gridX, int block, KernelArgs args);
    }

    private final CudaDevice device;
    private final MemorySegment stream;
    private final DeviceArena memory;
    private final Launcher launcher;
    private final Arena host = Arena.ofShared();
    private final KernelArgs args = new KernelArgs(host);
    private final PinnedBuffer upload;
    private final PinnedBuffer download;
    private long inPointer;
    private long inBytes;
    private long outPointer;
    private long outBytes;
    private int threads = DEFAULT_THREADS;
    private int[] params = new int[0];
    private static final int[] NO_IDS = new int[0];
    private static final float[] NO_VALUES = new float[0];

    DeviceSampler(CudaDevice device, MemorySegment stream, DeviceArena memory, Launcher launcher) {
        this.device = device;
        this.stream = stream;
        this.memory = memory;
        this.launcher = launcher;
        this.upload = new PinnedBuffer(device, 16 << 10);
        this.download = new PinnedBuffer(device, 16 << 10);
    }

    /** Threads per row's block (any multiple of 32 up to 1024): the chosen tokens do not depend on it. */
    void threads(int n) {
        if (n < 32 || n > 1024 || n % 32 != 0) {
            throw new IllegalArgumentException("threads per block must be a multiple of 32 in 32..1024, got " + n);
        }
        threads = n;
    }

    SampledTokens sample(CudaTensor logits, SamplingRow[] rows) {
        if (!logits.fp32) {
            throw new IllegalArgumentException("sampling needs fp32 logits");
        }
        int n = logits.rows();
        int vocab = logits.cols();
        if (rows.length != n) {
            throw new IllegalArgumentException(rows.length + " sampling rows for " + n + " logits rows");
        }
        if (vocab > MAX_VOCAB) {
            throw new IllegalArgumentException("GPU sampling handles vocabularies up to " + MAX_VOCAB + ", got " + vocab);
        }
        if (n == 0) {
            return new SampledTokens(new int[0], new int[0][], new float[0][]);
        }
        int stride = 0;
        long penalized = 0;
        for (SamplingRow r : rows) {
            stride = Math.max(stride, Math.min(r.logprobs(), vocab));
            penalized += r.repetitionPenalty() != 1f ? r.penalized().length : 0;
        }
        long paramBytes = 4L * n * ROW_WORDS;
        long uploadBytes = paramBytes + 4 * Math.max(penalized, 1);
        MemorySegment in = upload.atLeast(uploadBytes);
        // the parameters are assembled in a Java array and copied in once: per-word segment stores cost more
        if (params.length < n * ROW_WORDS) {
            params = new int[Math.max(n * ROW_WORDS, 2 * params.length)];
        }
        int at = 0;
        for (int i = 0; i < n; i++) {
            SamplingRow r = rows[i];
            boolean penalty = r.repetitionPenalty() != 1f;
            int base = i * ROW_WORDS;
            params[base] = Float.floatToRawIntBits(r.temperature());
            params[base + 1] = r.topK();
            params[base + 2] = Float.floatToRawIntBits(r.topP());
            params[base + 3] = (int) r.seed();
            params[base + 4] = (int) (r.seed() >>> 32);
            params[base + 5] = (int) r.step();
            params[base + 6] = (int) (r.step() >>> 32);
            params[base + 7] = Float.floatToRawIntBits(r.repetitionPenalty());
            params[base + 8] = at;
            params[base + 9] = penalty ? r.penalized().length : 0;
            params[base + 10] = Math.min(r.logprobs(), stride);
            params[base + 11] = 0;
            if (penalty) {
                MemorySegment.copy(r.penalized(), 0, in, JAVA_INT, paramBytes + 4L * at, r.penalized().length);
                at += r.penalized().length;
            }
        }
        MemorySegment.copy(params, 0, in, JAVA_INT, 0, n * ROW_WORDS);
        long outputBytes = 4L * n + 8L * n * stride;
        long inDevice = input(uploadBytes);
        long outDevice = output(outputBytes);
        CudaDriver driver = device.driver;
        driver.copyToDeviceAsync(inDevice, in, uploadBytes, stream);
        long lpIds = outDevice + 4L * n;
        long lpValues = lpIds + 4L * n * stride;
        launcher.launch(KernelNames.SAMPLE_F32, n, threads, args.reset().ptr(logits.pointer).i32(vocab).ptr(inDevice)
                .ptr(inDevice + paramBytes).ptr(outDevice).i32(stride).ptr(lpIds).ptr(lpValues));
        MemorySegment out = download.atLeast(outputBytes);
        driver.copyToHostAsync(out, outDevice, outputBytes, stream);
        driver.synchronize(stream);
        int[] ids = out.asSlice(0, 4L * n).toArray(JAVA_INT);
        int[][] topIds = new int[n][];
        float[][] topValues = new float[n][];
        for (int i = 0; i < n; i++) {
            int k = Math.min(rows[i].logprobs(), stride);
            if (k == 0) {
                topIds[i] = NO_IDS;
                topValues[i] = NO_VALUES;
                continue;
            }
            topIds[i] = new int[k];
            topValues[i] = new float[k];
            MemorySegment.copy(out, JAVA_INT, 4L * n + 4L * i * stride, topIds[i], 0, k);
            MemorySegment.copy(out, JAVA_FLOAT, 4L * n + 4L * n * stride + 4L * i * stride, topValues[i], 0, k);
        }
        return new SampledTokens(ids, topIds, topValues);
    }

    private long input(long bytes) {
        if (bytes > inBytes) {
            if (inPointer != 0) {
                memory.free(inPointer);
            }
            inBytes = Math.max(bytes, 2 * inBytes);
            inPointer = memory.allocate(inBytes);
        }
        return inPointer;
    }

    private long output(long bytes) {
        if (bytes > outBytes) {
            if (outPointer != 0) {
                memory.free(outPointer);
            }
            outBytes = Math.max(bytes, 2 * outBytes);
            outPointer = memory.allocate(outBytes);
        }
        return outPointer;
    }

    /** Frees the pinned buffers; the device buffers belong to the backend's arena. */
    @Override
    public void close() {
        upload.close();
        download.close();
        host.close();
    }
}
