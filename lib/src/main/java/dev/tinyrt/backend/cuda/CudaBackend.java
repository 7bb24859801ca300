package dev.tinyrt.backend.cuda;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.Backend;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.KvCacheDtype;
import dev.tinyrt.backend.KvCacheFormat;
import dev.tinyrt.backend.RopeTable;
import dev.tinyrt.backend.SampledTokens;
import dev.tinyrt.backend.SamplingRow;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.backend.Tensor;
import dev.tinyrt.backend.Weight;
import dev.tinyrt.backend.WeightData;
import dev.tinyrt.model.LlamaConfig;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The CUDA backend: fp16 weights and activations in device memory (the residual stream and logits in fp32), fp32
 * accumulation in every kernel, a paged fp16 KV cache, tinyrt's own kernels for everything but the prefill GEMMs
 * (cuBLAS), and whole forward steps recorded as CUDA graphs and replayed (see {@link StepGraphs}).
 *
 * <p>All work goes to one stream. Per-step metadata (token ids, positions, slots, block tables) is uploaded in one
 * copy into a fixed device buffer before the step, and kernels read it from there, so a recorded step replays with
 * new values. Device memory is owned by arenas: the backend's (weights, activations, step buffers) and one per KV
 * storage; {@link #close()} frees all of it. The backend is meant for one thread at a time.
 */
public final class CudaBackend implements Backend {
    private static final int THREADS = 256;
    /** Dynamic shared memory a launch gets without raising the kernel's limit (cuFuncSetAttribute). */
    private static final int DEFAULT_SHARED_LIMIT = 48 * 1024;
    /** Prefill attention block: 32 query vectors x 4 lanes x 4 key splits (PREFILL_THREADS in attention.cuh). */
    private static final int PREFILL_ATTENTION_THREADS = 512;
    private static final long CUBLAS_WORKSPACE = 32L << 20;
    private static final int MAX_GRAPHS = 64;
    private static final long PROFILE_SPIN_NANOS = 5_000_000;
    private static final ValueLayout.OfShort F16 = JAVA_SHORT;

    private final CudaDevice device;
    private final CudaDriver driver;
    private final Arena host = Arena.ofShared();
    private final KernelArgs args;
    private final MemorySegment stream;
    private final MemorySegment cublasHandle;
    private final DeviceArena memory;
    private final PinnedBuffer stepHost;
    private final PinnedBuffer staging;
    private final PinnedBuffer uploadStaging;
    private final MemorySegment uploadDone;
    private final MemorySegment timingStart;
    private final MemorySegment timingEnd;
    private final MatmulTactics tactics;
    private final StepGraphs<MemorySegment> graphs;
    private final OpProfiler profiler;
    private final LaunchConfig pdlConfig;
    private final DeviceSampler sampler;
    private final PendingArgmax pendingArgmax;
    /** Set by {@link #feedTokensFromLastArgmax}: the next step's tokens come from these device ids. */
    private PendingArgmax.Ids feed;
    private boolean pdl;
    private String pdlNote;
    private final Map<RopeTable, long[]> ropeTables = new IdentityHashMap<>();
    private final List<KvStorage> storages = new ArrayList<>();
    private KvStorage pooled;
    private boolean pooledInUse;
    private Step step;
    private final Growable stepBuffer;
    private final Growable scratchInts;
    private final Growable partOut;
    private final Growable partMaxSum;
    private final Growable counters;
    private final Growable dequantScratch;
    private final Growable activationScratch;
    private int vocabulary = -1;
    private PendingRope pendingRope;
    private boolean fuseRope = !Boolean.getBoolean("tinyrt.cuda.noRopeFusion");
    private final boolean preStaging = !Boolean.getBoolean("tinyrt.cuda.noPreStaging");
    private int batchAttentionFrom = DecodeAttention.batchFromProperty();
    private int batchAttentionSplitKeys = DecodeAttention.BATCH_SPLIT_KEYS;
    /**
     * The latency decode attention's wide variant (DecodeAttention): null (the default) where its blocks fit one wave
     * at one per multiprocessor (heads x rows x splits; the split count follows the block tables' capacity), or
     * always / never with -Dtinyrt.cuda.wideDecodeAttention=true / false. On the H100 it took TinyLlama's batch-1 GPU
     * step from 1,074 to 1,031 us (fp16), 843 to 792 (int8) and 880 to 814 (int4).
     */
    private Boolean wideDecodeAttention = wideProperty();
    private long batchedAttentionLaunches;
    private int forcedSplitK = Integer.getInteger("tinyrt.cuda.gemvSplitK", 0);
    /**
     * -Dtinyrt.cuda.gemvSplitKLong=N sets the split-K of only the rows the rule splits (longer than
     * 511 chunks: TinyLlama's fp16 down projection), where gemvSplitK sets every product's.
     */
    private final int forcedLongSplitK = Integer.getInteger("tinyrt.cuda.gemvSplitKLong", 0);
    /**
     * The fused batch-1 decode GEMVs launch at most this many waves of the blocks the GPU holds at once, each block
     * walking several groups of rows (gemv.cuh), so the norm prologue runs once per block; 0 launches a block per row
     * group. On the H100 one wave took the GPU step from 1,117 to 1,077 us (fp16), 952 to 883 (int8) and 945 to 925
     * (int4), two waves 1,096 / 915 / 914. Plain GEMVs (the LM head, batched decode) keep a block per group: capped,
     * the LM head's product took 40.5 instead of 36.7 us.
     */
    private final int gemvWaves = Integer.getInteger("tinyrt.cuda.gemvWaves", 1);
    /** With -Dtinyrt.cuda.gemvBlocksPerSm=N a wave is N blocks per multiprocessor, not what occupancy allows. */
    private final int gemvBlocksPerSm = Integer.getInteger("tinyrt.cuda.gemvBlocksPerSm", 0);
    private boolean fuseNorms = !Boolean.getBoolean("tinyrt.cuda.noNormFusion");
    /**
     * With -Dtinyrt.cuda.stagedGemv=true the fused batch-1 GEMVs over fp16, W8A16 and W4A16 weights (no pre-scale)
     * take the staged kernels (staged.cuh): weight rows streamed through a ring in shared memory by cp.async, the
     * whole ring issued before the PDL wait, -Dtinyrt.cuda.stagedBlocksPerSm (default 1) blocks per multiprocessor so
     * the next kernel's block fits beside them. Off by default: on the H100 (6e69008) one block per SM was 15-30 %
     * slower than the register kernels, two blocks per SM within 2 % of them.
     */
    private boolean stagedGemv = Boolean.getBoolean("tinyrt.cuda.stagedGemv");
    private final int stagedBlocksPerSm = Integer.getInteger("tinyrt.cuda.stagedBlocksPerSm", 1);
    private long stagedLaunches;
    /**
     * With -Dtinyrt.cuda.layerKernel=true a batch-1 decoder layer's five fused launches go out as one decode-layer
     * kernel (layer.cuh) with grid barriers between its stages. Off by default until it beats the five launches on a
     * GPU (the self-test checks it either way). -Dtinyrt.cuda.layerPrefetch=L is its L2 prefetch lookahead in stages
     * (0, the default: none beyond the GEMVs' next-group prefetch; 1: each stage's share as the block reaches it, and
     * the next layer's q|k|v as it leaves; 6: all of that at the start) and -Dtinyrt.cuda.layerPrefetchKb=N caps each
     * prefetched share at N KiB per block. On the H100 (462703b, fenced barriers) every lookahead was slower than
     * none: fp16 1267 us per step without, 1394-1491 with.
     */
    private boolean layerKernel = Boolean.getBoolean("tinyrt.cuda.layerKernel");
    private final int layerPrefetch = Integer.getInteger("tinyrt.cuda.layerPrefetch", 0);
    private final int layerPrefetchKb = Integer.getInteger("tinyrt.cuda.layerPrefetchKb", 1024);
    /** With -Dtinyrt.cuda.layerTrace=true the decode-layer kernels stamp the GPU clock per stage (LayerTrace). */
    private final boolean layerTraceOn = Boolean.getBoolean("tinyrt.cuda.layerTrace");
    private long layerTrace;
    private int layerTraceGrid;
    private final DecodeLayerFusion layerFusion = new DecodeLayerFusion();
    /** Grid-barrier counters of the decode-layer kernels, one per (kernel, grid size): they only grow (common.cuh). */
    private final long layerBarriers;
    private final Map<String, Integer> layerBarrierSlots = new java.util.HashMap<>();
    private static final int LAYER_BARRIER_SLOTS = 64;
    private boolean releasingLayer;
    private long layerKernelLaunches;
    /**
     * Steps of more token rows launch without PDL: it pays where chains of small GEMV kernels prefetch their weights
     * while the previous kernel drains (decode), but on the H100 a 128-token prefill graph took 2.57 ms of GPU time
     * with it against 1.88 ms without (cuda_speed, f695bd1).
     */
    private final int pdlMaxRows = Integer.getInteger("tinyrt.cuda.pdlMaxRows", KernelNames.MAX_GEMV_ROWS);
    private boolean stepPdl = true;
    private PendingMatmul pendingMatmul;
    private PendingNorm pendingNorm;
    private boolean capturing;
    private boolean closed;

    /** The step whose metadata is on the device, with where each array starts. */
    private record Step(StepBatch batch, CudaKvCache cache, StepPlan plan, long base) {
        long at(int intOffset) {
            return base + 4L * intOffset;
        }
    }

    /**
     * A decode step's RoPE + KV write, held back so the attention that follows does it in the same kernel; any
     * other op runs it first ({@link #flushRope}).
     */
    private record PendingRope(CudaTensor qkv, CudaKvCache cache, int layer, Step step, long[] table) {
    }

    /**
     * A one-row GEMV held back in case the next op is the residual add + norm of its output, which then becomes its
     * epilogue ({@link #addRmsNorm}); any other op launches it as it is ({@link #flushFusions}).
     */
    private record PendingMatmul(CudaTensor in, CudaWeight w, CudaTensor out) {
    }

    /**
     * A one-row RMSNorm of the fp32 residual held back in case the next op is a GEMV on its output, which then
     * computes it in its prologue (and still stores it); otherwise it runs as the norm kernel.
     */
    private record PendingNorm(CudaTensor residual, CudaWeight gamma, float eps, CudaTensor out) {
    }

    /** Opens a backend on the process's GPU; a {@link dev.tinyrt.TinyrtException} says why when there is none. */
    public static CudaBackend create() {
        return new CudaBackend(CudaDevice.get());
    }

    private CudaBackend(CudaDevice device) {
        this.device = device;
        this.driver = device.driver;
        device.makeCurrent();
        this.args = new KernelArgs(host);
        this.memory = new DeviceArena(device, "CUDA backend");
        this.stream = driver.createStream();
        MemorySegment handle = null;
        try {
            handle = device.cublas.createHandle();
            device.cublas.setStream(handle, stream);
            device.cublas.setWorkspace(handle, memory.allocate(CUBLAS_WORKSPACE), CUBLAS_WORKSPACE);
        } catch (RuntimeException e) {
            if (handle != null) {
                device.cublas.destroyHandle(handle);
            }
            driver.destroyStream(stream);
            memory.close();
            throw e;
        }
        this.cublasHandle = handle;
        this.stepHost = new PinnedBuffer(device, 64 << 10);
        this.staging = new PinnedBuffer(device, 1 << 20);
        this.uploadStaging = new PinnedBuffer(device, 64 << 10);
        this.uploadDone = driver.createEvent();
        this.timingStart = driver.createEvent();
        this.timingEnd = driver.createEvent();
        this.tactics = new MatmulTactics(!Boolean.getBoolean("tinyrt.cuda.noAutotune"));
        this.graphs = new StepGraphs<>(new GraphRecorder(), MAX_GRAPHS);
        this.graphs.setEnabled(!Boolean.getBoolean("tinyrt.cuda.noGraphs"));
        this.profiler = new OpProfiler(driver, stream);
        this.pdlConfig = new LaunchConfig(host, stream);
        this.pdl = probePdl();
        this.stepBuffer = new Growable("step metadata");
        this.scratchInts = new Growable("id upload");
        this.partOut = new Growable("attention partial outputs");
        this.partMaxSum = new Growable("attention partial max/sum");
        this.counters = new Growable("attention split counters");
        this.pendingArgmax = new PendingArgmax(driver, stream, memory);
        this.sampler = new DeviceSampler(device, stream, memory,
                (kernel, grid, block, a) -> launch(kernel, grid, 1, 1, block, 0, a));
        this.dequantScratch = new Growable("dequantized weight for prefill");
        this.activationScratch = new Growable("quantized activations");
        this.layerBarriers = memory.allocate(8L * LAYER_BARRIER_SLOTS);
        driver.memsetAsync(layerBarriers, (byte) 0, 8L * LAYER_BARRIER_SLOTS, stream);
        if (layerTraceOn) {
            layerTrace = memory.allocate(LayerTrace.bufferBytes(maxLayerGrid()));
            driver.memsetAsync(layerTrace, (byte) 0, LayerTrace.bufferBytes(maxLayerGrid()), stream);
        }
        driver.synchronize(stream);
    }

    /** The most blocks a decode-layer kernel launches: two per multiprocessor (layer.cuh's launch bounds). */
    private int maxLayerGrid() {
        return 2 * device.multiprocessors();
    }

    /** A device buffer that only grows; growing moves it, which invalidates recorded graphs. */
    private final class Growable {
        private final String what;
        private long pointer;
        private long bytes;

        Growable(String what) {
            this.what = what;
        }

        /** The buffer, at least {@code size} bytes; true in {@code grew[0]} when it moved (new memory is zeroed). */
        long atLeast(long size) {
            if (size <= bytes) {
                return pointer;
            }
            if (capturing) {
                throw new IllegalStateException(what + " must grow while a CUDA graph is recorded");
            }
            long grown = Math.max(size, bytes * 2);
            driver.synchronize(stream);
            if (pointer != 0) {
                memory.free(pointer);
            }
            pointer = memory.allocate(grown);
            bytes = grown;
            driver.memsetAsync(pointer, (byte) 0, grown, stream);
            graphs.invalidate();
            return pointer;
        }
    }

    // ---- settings and reports ---------------------------------------------------------------------------------

    @Override
    public String name() {
        return "cuda";
    }

    public CudaDevice device() {
        return device;
    }

    /** Turns recording steps as CUDA graphs on or off (on unless -Dtinyrt.cuda.noGraphs=true). */
    public void useGraphs(boolean on) {
        graphs.setEnabled(on);
    }

    /** Turns timing of GEMV vs cuBLAS per new shape on or off (on unless -Dtinyrt.cuda.noAutotune=true). */
    public void autotune(boolean on) {
        tactics.setAutotune(on);
    }

    /** Fuses decode steps' RoPE + KV-cache write into the attention kernel (on unless -Dtinyrt.cuda.noRopeFusion). */
    public void fuseRope(boolean on) {
        flushPending();
        fuseRope = on;
        graphs.invalidate();  // recorded steps hold the other variant
    }

    /**
     * Decode steps of at least {@code from} rows use the batched attention kernel (0: never; default
     * -Dtinyrt.cuda.batchAttentionFrom or {@value DecodeAttention#DEFAULT_BATCH_FROM}), splitting contexts every
     * {@code splitKeys} keys (a multiple of 64; default {@value DecodeAttention#BATCH_SPLIT_KEYS}).
     */
    void batchAttention(int from, int splitKeys) {
        if (from < 0 || splitKeys <= 0 || splitKeys % 64 != 0) {
            throw new IllegalArgumentException("batched attention from " + from + " rows, " + splitKeys
                    + " keys per split (a positive multiple of 64)");
        }
        flushRope();
        batchAttentionFrom = from;
        batchAttentionSplitKeys = splitKeys;
        step = null;  // the next step sizes the split buffers for this choice
        graphs.invalidate();  // recorded steps hold the other kernel
    }

    /** Launches of the batched decode attention kernel so far (the self-test checks that it ran). */
    long batchedAttentionLaunches() {
        return batchedAttentionLaunches;
    }

    private DecodeAttention decodeAttention(StepPlan plan, CudaKvCache cache) {
        KvStorage kv = cache.storage;
        int capacity = plan.width() * kv.blockSize;
        boolean wide = wideDecodeAttention != null ? wideDecodeAttention
                : (long) cache.heads * plan.tokens() * DecodeSplits.forCapacity(capacity, kv.headDim,
                        DecodeAttention.WIDE_THREADS).count() <= device.multiprocessors();
        return DecodeAttention.choose(kv.dtype, plan.tokens(), cache.heads, kv.kvHeads, kv.headDim,
                cache.decodeHeadsPerBlock(), capacity, batchAttentionFrom, batchAttentionSplitKeys, wide);
    }

    private static Boolean wideProperty() {
        String v = System.getProperty("tinyrt.cuda.wideDecodeAttention");
        return v == null || v.isBlank() || v.equals("auto") ? null : Boolean.valueOf(v);
    }

    /** The wide-variant setting: null where the one-wave rule decides. */
    Boolean wideDecodeAttention() {
        return wideDecodeAttention;
    }

    /** Always, never (the self-test checks both) or, with null, by the one-wave rule. */
    void wideDecodeAttention(Boolean on) {
        wideDecodeAttention = on;
        graphs.invalidate();
    }

    /** Warps per row of the decode GEMVs (split-K): 0 for the rule ({@link KernelNames#splitK}), else 1..8. */
    void forceSplitK(int ks) {
        forcedSplitK = ks;
        graphs.invalidate();
    }

    /** Forgets every tactic choice, so the next steps choose (and, with autotuning, measure) again. */
    public void resetTactics() {
        tactics.clear();
    }

    /** Uses {@code tactic} for products of {@code shape} from now on (self-test and benchmarks compare both). */
    void forceTactic(MatmulTactics.Shape shape, MatmulTactics.Tactic tactic) {
        tactics.force(shape, tactic);
    }

    /** The tactic chosen for every GEMM shape so far (an engine build stores them). */
    public List<TacticRecord> tactics() {
        return tactics.table().stream().map(c -> new TacticRecord(c.shape().n(), c.shape().m(), c.shape().k(),
                c.shape().fp32Out(), c.shape().swiglu(), c.tactic().name(), c.gemvMicros(), c.cublasMicros(),
                c.measured())).toList();
    }

    /** sha256 of the kernel sources the loaded fatbin was built from (tactics are only valid for those). */
    public String kernelSourcesHash() {
        return KernelImage.info().getProperty("sources_sha256", "unknown");
    }

    /** Uses stored choices (from an engine) instead of timing those shapes again. */
    public void useTactics(List<TacticRecord> stored) {
        for (TacticRecord t : stored) {
            tactics.force(new MatmulTactics.Shape(t.n(), t.m(), t.k(), t.fp32Out(), t.swiglu()),
                    MatmulTactics.Tactic.valueOf(t.tactic()));
        }
    }

    /** Chosen matmul tactics, one line per shape, for reports. */
    public List<String> tacticReport() {
        List<String> lines = new ArrayList<>();
        for (MatmulTactics.Choice c : tactics.table()) {
            MatmulTactics.Shape s = c.shape();
            lines.add(String.format("n=%d m=%d k=%d%s%s%s -> %s%s", s.n(), s.m(), s.k(),
                    s.format().equals("F16") ? "" : " " + s.format(), s.fp32Out() ? " fp32-out" : "",
                    s.swiglu() ? " swiglu-in" : "", c.tactic(), c.measured()
                            ? String.format(" (gemv %.2f us, cublas %.2f us)", c.gemvMicros(), c.cublasMicros())
                            : " (rule)"));
        }
        return lines;
    }

    /** Graph statistics: recorded, replayed, eager steps, recording time, first recording failure. */
    public String graphReport() {
        return String.format("graphs %s: %d recorded (%.1f ms), %d replayed, %d eager steps, %d cached%s",
                graphs.enabled() ? "on" : "off", graphs.recorded(), graphs.recordMillis(), graphs.replayed(),
                graphs.eager(), graphs.size(), graphs.firstFailure() == null ? ""
                        : "; first recording failure: " + graphs.firstFailure());
    }

    /** Steps run by replaying a recorded CUDA graph so far. */
    public long graphReplays() {
        return graphs.replayed();
    }

    /** Device memory this backend holds now: its own arena and its KV storages. */
    public long deviceBytes() {
        long total = memory.bytes();
        for (KvStorage s : storages) {
            total += s.bytes();
        }
        return total;
    }

    /** Starts timing every op on the GPU (steps run eagerly while profiling); see {@link #endProfile()}. */
    public void beginProfile() {
        profiler.begin(() -> launch(KernelNames.SPIN, 1, 1, 1, 1, 0, args.reset().i64(PROFILE_SPIN_NANOS)));
    }

    /** The ops since {@link #beginProfile()}: label, GPU microseconds, bytes moved (estimate). */
    public List<ProfiledOp> endProfile() {
        return profiler.end().stream().map(t -> new ProfiledOp(t.label(), t.micros(), t.bytes())).toList();
    }

    /** One op of a profiled step. */
    public record ProfiledOp(String label, double micros, long bytes) {
    }

    /**
     * Programmatic dependent launch on Hopper and newer (unless -Dtinyrt.cuda.noPdl=true): tried once with the spin
     * kernel; a driver that refuses it leaves plain launches (and the reason in {@link #pdlReport()}).
     */
    private boolean probePdl() {
        if (Boolean.getBoolean("tinyrt.cuda.noPdl")) {
            pdlNote = "off (-Dtinyrt.cuda.noPdl)";
            return false;
        }
        if (!device.computeCapability().matches("(9|[1-9][0-9])\\..*")) {
            pdlNote = "off (compute capability " + device.computeCapability() + " < 9.0)";
            return false;
        }
        try {
            driver.launch(KernelNames.SPIN, device.function(KernelNames.SPIN), pdlConfig.set(1, 1, 1, 1, 0),
                    args.reset().i64(1).pointers());
            driver.synchronize(stream);
            pdlNote = "on";
            return true;
        } catch (CudaException e) {
            pdlNote = "off (" + e.getMessage() + ")";
            return false;
        }
    }

    /** Turns programmatic dependent launch on or off (on where the GPU supports it); recorded steps are dropped. */
    public void usePdl(boolean on) {
        flushPending();
        if (on && !pdlNote.equals("on")) {
            throw new IllegalStateException("programmatic dependent launch is not available: " + pdlNote);
        }
        pdl = on;
        graphs.invalidate();
    }

    /** Whether this GPU and driver take programmatic dependent launches (see {@link #usePdl}). */
    public boolean pdlAvailable() {
        return pdlNote.equals("on");
    }

    /** Whether launches use programmatic dependent launch, and why not if they do not. */
    public String pdlReport() {
        return pdl ? "on" : pdlNote.equals("on") ? "off (turned off)" : pdlNote;
    }

    /** Waits for all queued work. */
    public void synchronize() {
        device.makeCurrent();
        driver.synchronize(stream);
    }

    // ---- memory -----------------------------------------------------------------------------------------------

    @Override
    public Weight weight(WeightData data) {
        ensureOpen();
        if (!(data instanceof WeightData.Dense)) {
            return quantizedWeight(data);
        }
        WeightData.Dense d = (WeightData.Dense) data;
        long elements = (long) d.rows() * d.cols();
        long out = memory.allocate(2 * elements);
        switch (d.dtype()) {
            case F16 -> upload(out, d.bytes());
            case F32, BF16 -> {
                long raw = memory.allocate(d.bytes().byteSize());
                upload(raw, d.bytes());
                String kernel = d.dtype() == dev.tinyrt.io.DType.F32 ? KernelNames.F32_TO_F16 : KernelNames.BF16_TO_F16;
                launch(kernel, gridFor(elements), 1, 1, THREADS, 0, args.reset().ptr(raw).ptr(out).i64(elements));
                driver.synchronize(stream);
                memory.free(raw);
            }
            default -> throw new UnsupportedOperationException(d.name() + ": " + d.dtype()
                    + " is not a float type the CUDA backend can convert to fp16");
        }
        return new CudaWeight(d.name(), out, d.rows(), d.cols());
    }

    /**
     * W8A16 and W4A16 (AWQ included) re-packed for the quantized kernels ({@link WeightPacking}); other forms and
     * shapes those kernels cannot read are dequantized to fp16 here.
     */
    private Weight quantizedWeight(WeightData data) {
        if (data instanceof WeightData.Fp8PerTensor && !fp8Capable()) {
            throw new dev.tinyrt.TinyrtException(data.name() + ": FP8 weights need a GPU of compute capability 8.9 or"
                    + " newer (Ada, Hopper); this one is " + device.computeCapability());
        }
        try (Arena a = Arena.ofConfined()) {
            if (!WeightPacking.kernelsApply(data)) {
                return weight(WeightPacking.dequantized(data, a));
            }
            WeightPacking.Packed p = WeightPacking.pack(data, a);
            long values = memory.allocate(p.values().byteSize());
            long scales = memory.allocate(p.scales().byteSize());
            upload(values, p.values());
            upload(scales, p.scales());
            long pre = 0;
            List<CudaWeight.PreScale> pres = List.of();
            if (p.preScale() != null) {
                pre = memory.allocate(4L * data.cols());
                upload(pre, a.allocateFrom(JAVA_FLOAT, p.preScale()));
                pres = List.of(new CudaWeight.PreScale(0, p.preScale()));
            }
            CudaWeight w = new CudaWeight(data.name(), p.format(), values, scales, pre, data.rows(), pres,
                    data.rows(), data.cols(), p.groupSize(), p.values().byteSize() + p.scales().byteSize()
                    + (pre == 0 ? 0 : 4L * data.cols()));
            w.activationScale = p.activationScale();
            return w;
        }
    }

    /** FP8 (e4m3) conversions in hardware: compute capability 8.9 and newer. */
    private boolean fp8Capable() {
        String[] cc = device.computeCapability().split("\\.");
        int major = Integer.parseInt(cc[0]);
        return major > 8 || (major == 8 && Integer.parseInt(cc[1]) >= 9);
    }

    /** Copies host bytes to the device on this backend's stream and waits (the source may go away after). */
    private void upload(long dst, MemorySegment src) {
        if (src.isNative()) {
            driver.copyToDeviceAsync(dst, src, src.byteSize(), stream);
            driver.synchronize(stream);
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment copy = a.allocate(src.byteSize(), 16);
            copy.copyFrom(src);
            driver.copyToDeviceAsync(dst, copy, copy.byteSize(), stream);
            driver.synchronize(stream);
        }
    }

    /**
     * One matrix holding the parts' rows in order; the parts' memory is freed (they can no longer be used). Parts
     * must share format and group size; quantized parts may have at most two distinct pre-scales, each over
     * consecutive rows (q|k|v share one, an AWQ gate|up may have two).
     */
    @Override
    public Weight concatRows(Weight... parts) {
        ensureOpen();
        CudaWeight first = (CudaWeight) parts[0];
        int cols = first.cols();
        int rows = 0;
        List<CudaWeight.PreScale> pres = new ArrayList<>();
        float[] previous = null;
        for (Weight p : parts) {
            CudaWeight w = (CudaWeight) p;
            if (w.cols() != cols) {
                throw new IllegalArgumentException("concatRows needs equal column counts, got " + cols + " and "
                        + w.cols());
            }
            if (w.format != first.format || w.groupSize != first.groupSize) {
                throw new IllegalArgumentException("concatRows needs one format, got " + first.format() + " (group "
                        + first.groupSize + ") and " + w.format() + " (group " + w.groupSize + ")");
            }
            if (w.preScales.size() > 1) {
                throw new UnsupportedOperationException(w.name + " is fused already");
            }
            if (w.activationScale != first.activationScale) {
                throw new UnsupportedOperationException("concatRows of " + first.name + " and " + w.name
                        + ": FP8 parts need one activation scale, got " + first.activationScale + " and "
                        + w.activationScale);
            }
            float[] pre = w.preScales.isEmpty() ? null : w.preScales.getFirst().values();
            if (rows == 0) {
                previous = pre;
            } else if (!java.util.Arrays.equals(previous, pre)) {
                if (pres.size() == 2) {
                    throw new UnsupportedOperationException("concatRows of " + first.name + " and " + w.name
                            + ": the CUDA kernels take at most two pre-scales, each over consecutive rows");
                }
                if (pres.isEmpty()) {
                    pres.add(new CudaWeight.PreScale(0, previous != null ? previous : ones(cols)));
                }
                pres.add(new CudaWeight.PreScale(rows, pre != null ? pre : ones(cols)));
                previous = pre;
            }
            rows += w.rows();
        }
        if (pres.isEmpty() && previous != null) {
            pres.add(new CudaWeight.PreScale(0, previous));
        }
        if (pres.size() > 1 && first.format == CudaWeight.Format.W8A8) {
            throw new UnsupportedOperationException("concatRows of " + first.name + " and " + ((CudaWeight)
                    parts[parts.length - 1]).name + ": SmoothQuant layers fused into one GEMM quantize one input, so "
                    + "they need one pre-scale (prequant_scaling_factor); this checkpoint has different ones — "
                    + "convert it again with convert_checkpoint.java, which smooths gate and up together");
        }
        long valueBytes = first.valueBytesPerRow() * rows;
        long scaleBytes = first.scaleBytesPerRow() * rows;
        long values = memory.allocate(valueBytes);
        long scales = scaleBytes == 0 ? 0 : memory.allocate(scaleBytes);
        long pre = pres.isEmpty() ? 0 : memory.allocate(4L * cols * pres.size());
        long vAt = values;
        long sAt = scales;
        for (Weight p : parts) {
            CudaWeight w = (CudaWeight) p;
            long vb = w.valueBytesPerRow() * w.rows();
            driver.copyDeviceAsync(vAt, w.pointer(), vb, stream);
            vAt += vb;
            if (scaleBytes > 0) {
                long sb = w.scaleBytesPerRow() * w.rows();
                driver.copyDeviceAsync(sAt, w.scales(), sb, stream);
                sAt += sb;
            }
        }
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < pres.size(); i++) {
                upload(pre + 4L * cols * i, a.allocateFrom(JAVA_FLOAT, pres.get(i).values()));
            }
        }
        driver.synchronize(stream);
        StringBuilder name = new StringBuilder();
        for (Weight p : parts) {
            CudaWeight w = (CudaWeight) p;
            name.append(name.isEmpty() ? "" : "|").append(w.name);
            for (long owned : w.release()) {
                if (owned != 0) {
                    memory.free(owned);
                }
            }
        }
        if (first.format == CudaWeight.Format.F16) {
            return new CudaWeight(name.toString(), values, rows, cols);
        }
        int split = pres.size() == 2 ? pres.get(1).firstRow() : rows;
        CudaWeight fused = new CudaWeight(name.toString(), first.format, values, scales, pre, split, pres, rows, cols,
                first.groupSize, valueBytes + scaleBytes + 4L * cols * pres.size());
        fused.activationScale = first.activationScale;
        return fused;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    @Override
    public Tensor tensor(int rows, int cols) {
        ensureOpen();
        return new CudaTensor(memory.allocate(2L * rows * cols), rows, cols, false);
    }

    /** fp32: the residual stream and logits keep full precision. */
    @Override
    public Tensor wideTensor(int rows, int cols) {
        ensureOpen();
        return new CudaTensor(memory.allocate(4L * rows * cols), rows, cols, true);
    }

    /**
     * A cache over the backend's reusable storage when that is free and large enough (it is reallocated when
     * free but too small), so requests of similar size keep hitting recorded graphs; a separate storage otherwise.
     */
    @Override
    public KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize) {
        return kvCache(config, numBlocks, blockSize, KvCacheFormat.AUTO);
    }

    /** fp16 (AUTO), int8 or fp8 e4m3 keys and values; the KV write quantizes, attention dequantizes. */
    @Override
    public KvCache kvCache(LlamaConfig config, int numBlocks, int blockSize, KvCacheFormat format) {
        ensureOpen();
        int headDim = config.headDim();
        if (!KernelNames.supportsHeadDim(headDim)) {
            throw new UnsupportedOperationException("head_dim " + headDim + " has no CUDA attention kernel"
                    + " (supported: 16, 32, 64, 128)");
        }
        if (config.numHeads() % config.numKvHeads() != 0) {
            throw new IllegalArgumentException("heads must be a multiple of KV heads");
        }
        refuseFp32(format);
        format.requireLayers(config.numLayers());
        int layers = config.numLayers();
        int kvHeads = config.numKvHeads();
        KvStorage storage;
        if (!pooledInUse) {
            if (pooled == null || !pooled.fits(layers, numBlocks, blockSize, kvHeads, headDim, format)) {
                if (pooled != null) {
                    closeStorage(pooled);
                }
                pooled = openStorage(layers, numBlocks, blockSize, kvHeads, headDim, format);
            }
            pooledInUse = true;
            storage = pooled;
        } else {
            storage = openStorage(layers, numBlocks, blockSize, kvHeads, headDim, format);
        }
        return new CudaKvCache(this, storage, numBlocks, config.numHeads());
    }

    /** As {@link KvStorage} lays a cache of {@code format} out (fp16 for AUTO); fp32 is refused as kvCache does. */
    @Override
    public long kvBytesPerToken(LlamaConfig config, KvCacheFormat format) {
        refuseFp32(format);
        return KvStorage.bytesPerToken(config.numLayers(), config.numKvHeads(), config.headDim(),
                KvStorage.storedDtype(format));
    }

    private static void refuseFp32(KvCacheFormat format) {
        if (format.dtype() == KvCacheDtype.FP32) {
            throw new TinyrtException("the cuda backend stores the KV cache as fp16, int8 or fp8, not fp32");
        }
    }

    private KvStorage openStorage(int layers, int blocks, int blockSize, int kvHeads, int headDim,
                                  KvCacheFormat format) {
        KvStorage s = new KvStorage(device, layers, blocks, blockSize, kvHeads, headDim, format);
        storages.add(s);
        return s;
    }

    private void closeStorage(KvStorage s) {
        driver.synchronize(stream);
        graphs.invalidate();
        if (step != null && step.cache.storage == s) {
            step = null;
        }
        storages.remove(s);
        s.close();
    }

    /** Closes the pooled KV storage when no cache uses it, so the next cache's allocation is measured whole. */
    @Override
    public void releaseIdleMemory() {
        if (closed) {
            return;
        }
        flushPending();
        if (pooled != null && !pooledInUse) {
            closeStorage(pooled);
            pooled = null;
        }
    }

    void release(CudaKvCache cache) {
        if (closed) {
            return;
        }
        flushPending();
        if (cache.storage == pooled) {
            pooledInUse = false;
            if (step != null && step.cache == cache) {
                step = null;
            }
        } else {
            closeStorage(cache.storage);
        }
    }

    // ---- steps --------------------------------------------------------------------------------------------

    @Override
    public void runStep(StepBatch batch, KvCache cache, Object buffers, Runnable work) {
        ensureOpen();
        CudaKvCache kv = (CudaKvCache) cache;
        step = null;  // always upload: a caller may reuse a batch object with new contents
        Step s;
        try {
            s = prepare(batch, kv);
        } finally {
            feed = null;
        }
        Runnable complete = () -> {
            work.run();
            flushPending();  // a RoPE the step left pending belongs to the step (and to its recording)
        };
        stepPdl = batch.numTokens() <= pdlMaxRows;
        try {
            if (profiler.active()) {
                complete.run();
                return;
            }
            graphs.run(new GraphKey(buffers, kv.storage.id, s.plan.shape()), complete);
        } finally {
            stepPdl = true;
        }
    }

    private record GraphKey(Object buffers, long storage, StepPlan.Shape shape) {
    }

    /** Uploads the batch's metadata unless it is already on the device. */
    private Step prepare(StepBatch batch, CudaKvCache cache) {
        cache.checkOpen();
        if (step != null && step.batch == batch && step.cache == cache) {
            return step;
        }
        if (capturing) {
            throw new IllegalStateException("a step other than the one being recorded was used");
        }
        device.makeCurrent();
        StepPlan plan = StepPlan.of(batch, cache.blockSize(), cache.numBlocks(), 32 / cache.headsPerBlock());
        if (feed != null && feed.rows != plan.tokens()) {
            throw new IllegalArgumentException("the step has " + plan.tokens() + " tokens, the ids it is fed "
                    + feed.rows);
        }
        if (vocabulary > 0 && feed == null) {  // fed ids are argmaxes over the vocabulary
            for (int id : batch.tokens()) {
                checkToken(id);
            }
        }
        long base = stepBuffer.atLeast(plan.bytes());
        driver.synchronizeEvent(uploadDone);  // the previous upload has finished reading the pinned buffer
        MemorySegment pinned = stepHost.atLeast(plan.bytes());
        MemorySegment.copy(plan.packed(), 0, pinned, JAVA_INT, 0, plan.packed().length);
        driver.copyToDeviceAsync(base, pinned, plan.bytes(), stream);
        driver.record(uploadDone, stream);
        if (feed != null) {  // queued after the argmax that writes them: stream order is the only wait
            driver.copyDeviceAsync(base + 4L * plan.tokensAt(), feed.devicePointer, 4L * feed.rows, stream);
        }
        if (plan.decodeOnly()) {
            DecodeAttention a = decodeAttention(plan, cache);
            long partials = (long) plan.tokens() * cache.heads * a.splits().count();
            partOut.atLeast(4 * partials * cache.storage.headDim);
            partMaxSum.atLeast(8 * partials);
            counters.atLeast(4L * a.counters(plan.tokens()));
        }
        step = new Step(batch, cache, plan, base);
        return step;
    }

    private void checkToken(int id) {
        if (id < 0 || id >= vocabulary) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocabulary + ")");
        }
    }

    /** Records steps with stream capture; replays are single cuGraphLaunch calls. */
    private final class GraphRecorder implements StepGraphs.Recorder<MemorySegment> {
        @Override
        public MemorySegment record(Runnable work) {
            driver.synchronize(stream);
            capturing = true;
            driver.beginCapture(stream);
            try {
                work.run();
            } catch (RuntimeException e) {
                capturing = false;
                pendingRope = null;  // held-back work belonged to the abandoned recording; the step now runs eagerly
                pendingMatmul = null;
                pendingNorm = null;
                layerFusion.drain();
                driver.abandonCapture(stream);
                throw e;
            }
            capturing = false;
            MemorySegment graph = driver.endCapture(stream);
            try {
                return driver.instantiate(graph);
            } finally {
                driver.destroyGraph(graph);
            }
        }

        @Override
        public void replay(MemorySegment graph) {
            driver.launchGraph(graph, stream);
        }

        @Override
        public void destroy(MemorySegment graph) {
            driver.destroyGraphExec(graph);
        }
    }

    /** Device ids: the step's own array when {@code ids} is the step's, else a fresh upload (eager use only). */
    private long deviceInts(int[] ids, boolean tokens) {
        if (step != null && ids == (tokens ? step.batch.tokens() : step.batch.logitRows())) {
            return step.at(tokens ? step.plan.tokensAt() : step.plan.logitRowsAt());
        }
        if (capturing) {
            throw new IllegalStateException("ids that are not the recorded step's cannot be used in a CUDA graph");
        }
        long dst = scratchInts.atLeast(4L * Math.max(ids.length, 1));
        driver.synchronize(stream);  // the staging buffer may still be read by an earlier copy
        MemorySegment pinned = uploadStaging.atLeast(4L * Math.max(ids.length, 1));
        MemorySegment.copy(ids, 0, pinned, JAVA_INT, 0, ids.length);
        driver.copyToDeviceAsync(dst, pinned, 4L * ids.length, stream);
        return dst;
    }

    // ---- ops ----------------------------------------------------------------------------------------------

    @Override
    public void embed(Weight table, int[] ids, Tensor out) {
        ensureOpen();
        CudaWeight t = (CudaWeight) table;
        CudaTensor o = (CudaTensor) out;
        vocabulary = t.rows();
        for (int id : ids) {
            checkToken(id);
        }
        require(o.rows() == ids.length && o.cols() == t.cols(), "embed shapes");
        long idsPtr = deviceInts(ids, true);
        launch(o.fp32 ? KernelNames.EMBED_F32 : KernelNames.EMBED_F16, ids.length, 1, 1, THREADS, 0,
                args.reset().ptr(t.f16()).ptr(idsPtr).ptr(o.pointer).i32(o.cols()));
        profiled("embed", 2L * ids.length * t.cols() + o.bytes());
    }

    @Override
    public void rmsNorm(Tensor x, Weight gamma, float eps, Tensor out) {
        ensureOpen();
        CudaTensor in = (CudaTensor) x;
        CudaTensor o = (CudaTensor) out;
        require(!o.fp32 && in.rows() == o.rows() && in.cols() == o.cols() && gamma.cols() == in.cols(),
                "rmsNorm shapes");
        if (fuseNorms && in.fp32 && in.rows() == 1 && KernelNames.normFusable(in.cols())) {
            pendingNorm = new PendingNorm(in, (CudaWeight) gamma, eps, o);  // maybe the next GEMV's prologue
            return;
        }
        normKernel(in, (CudaWeight) gamma, eps, o);
    }

    private void normKernel(CudaTensor in, CudaWeight gamma, float eps, CudaTensor o) {
        launch(KernelNames.norm(in.fp32, in.cols()), in.rows(), 1, 1, KernelNames.normThreads(in.cols()), 0,
                args.reset().ptr(in.pointer).ptr(gamma.f16()).f32(eps).ptr(o.pointer).i32(in.cols()));
        profiled("rms_norm", in.bytes() + o.bytes());
    }

    @Override
    public void addRmsNorm(Tensor residual, Tensor delta, Weight gamma, float eps, Tensor out) {
        checkOpen();
        flushRope();
        CudaTensor r = (CudaTensor) residual;
        CudaTensor d = (CudaTensor) delta;
        CudaTensor o = (CudaTensor) out;
        require(!d.fp32 && !o.fp32 && r.rows() == d.rows() && r.cols() == d.cols() && o.rows() == r.rows()
                && o.cols() == r.cols() && gamma.cols() == r.cols(), "addRmsNorm shapes");
        PendingMatmul m = pendingMatmul;
        if (m != null && pendingNorm == null && m.out().pointer == d.pointer && m.out().rows() == d.rows()
                && r.fp32 && r.rows() == 1) {
            // the product that made delta adds it into the residual itself; the norm waits for the next GEMV
            pendingMatmul = null;
            CudaWeight w = m.w();
            FusedKernel f = fusedKernel(w, FusedKind.RES);
            int ks = splitK(f, w);
            KernelArgs a = w.format.quantized() ? quantArgs(w) : args.reset().ptr(w.pointer());
            launchFused(f, ceilDiv(w.rows(), KernelNames.gemvRowsPerBlock(ks)),
                    a.ptr(m.in().pointer).ptr(d.pointer).ptr(r.pointer).i32(w.rows()).i32(w.cols()).i32(ks),
                    FusedKind.RES, w);
            profiledMatmul(w, MatmulTactics.Tactic.GEMV, ks, f.staged() ? " staged + residual add" : " + residual add",
                    w.ownedBytes() + m.in().bytes() + d.bytes() + 2 * r.bytes());
            PendingNorm n = new PendingNorm(r, (CudaWeight) gamma, eps, o);
            if (KernelNames.normFusable(r.cols())) {
                pendingNorm = n;
            } else {
                normKernel(r, n.gamma(), eps, o);
            }
            return;
        }
        flushFusions();
        launch(KernelNames.addNorm(r.fp32, r.cols()), r.rows(), 1, 1, KernelNames.normThreads(r.cols()), 0,
                args.reset().ptr(r.pointer)
                .ptr(d.pointer).ptr(((CudaWeight) gamma).f16()).f32(eps).ptr(o.pointer).i32(r.cols()));
        profiled("add_rms_norm", 2 * r.bytes() + d.bytes() + o.bytes());
    }

    @Override
    public void add(Tensor residual, Tensor delta) {
        ensureOpen();
        CudaTensor r = (CudaTensor) residual;
        CudaTensor d = (CudaTensor) delta;
        require(!d.fp32 && r.rows() == d.rows() && r.cols() == d.cols(), "add shapes");
        long n = (long) r.rows() * r.cols();
        launch(r.fp32 ? KernelNames.ADD_F32 : KernelNames.ADD_F16, gridFor(n), 1, 1, THREADS, 0,
                args.reset().ptr(r.pointer).ptr(d.pointer).i64(n));
        profiled("add", 2 * r.bytes() + d.bytes());
    }

    @Override
    public void matmul(Tensor x, Weight w, Tensor out) {
        openKeepingNorm();
        CudaTensor in = (CudaTensor) x;
        CudaTensor o = (CudaTensor) out;
        CudaWeight m = (CudaWeight) w;
        if (in.fp32 || in.cols() != m.cols() || o.cols() != m.rows() || o.rows() != in.rows()) {
            throw new IllegalArgumentException("matmul shapes: x " + in.rows() + "x" + in.cols() + " " + in.dtype()
                    + ", w " + m.rows() + "x" + m.cols() + ", out " + o.rows() + "x" + o.cols());
        }
        MatmulTactics.Shape shape = new MatmulTactics.Shape(in.rows(), m.rows(), m.cols(), o.fp32, false,
                m.format.label);
        MatmulTactics.Tactic tactic = stagesOneRow(shape, in, m, o) ? MatmulTactics.Tactic.GEMV
                : tactics.choose(shape, mayMeasure(), t -> timeMicros(() -> linear(t, in, m, o)));
        boolean oneRow = fuseNorms && in.rows() == 1 && !o.fp32 && tactic == MatmulTactics.Tactic.GEMV
                && !m.format.quantizesActivations();
        PendingNorm n = oneRow ? takeNorm(in, tactic) : null;
        if (n == null) {
            flushFusions();
        }
        if (n != null) {
            FusedKernel f = fusedKernel(m, FusedKind.NORM);
            int ks = splitK(f, m);
            KernelArgs a = m.format.quantized() ? quantArgs(m) : args.reset().ptr(m.pointer());
            launchFused(f, ceilDiv(m.rows(), KernelNames.gemvRowsPerBlock(ks)),
                    normPrologue(a, n).ptr(o.pointer).i32(m.rows()).i32(m.cols()).i32(ks), FusedKind.NORM, m);
            profiledMatmul(m, tactic, ks, f.staged() ? " staged + rms_norm" : " + rms_norm",
                    m.ownedBytes() + n.residual().bytes() + in.bytes() + o.bytes());
            return;
        }
        if (oneRow) {  // the residual add that usually follows may become its epilogue
            pendingMatmul = new PendingMatmul(in, m, o);
            return;
        }
        linear(tactic, in, m, o);
        profiledMatmul(m, tactic, splitK(m), "",
                m.ownedBytes() + in.bytes() + o.bytes());
    }

    /** The norm-prologue arguments: residual, gain, eps, the norm's output, the norm kernel's thread count. */
    private static KernelArgs normPrologue(KernelArgs a, PendingNorm n) {
        return a.ptr(n.residual().pointer).ptr(n.gamma().f16()).f32(n.eps()).ptr(n.out().pointer)
                .i32(KernelNames.normThreads(n.residual().cols()));
    }

    private void profiledMatmul(CudaWeight m, MatmulTactics.Tactic tactic, int ks, String fused, long bytes) {
        profiled("matmul " + m.rows() + "x" + m.cols() + formatLabel(m) + " "
                + tactic.name().toLowerCase(java.util.Locale.ROOT)
                + (tactic == MatmulTactics.Tactic.GEMV && ks > 1 ? " split-k " + ks : "") + fused, bytes);
    }


    private static String formatLabel(CudaWeight w) {
        return w.format.quantized() ? " " + w.format.label.toLowerCase(java.util.Locale.ROOT) : "";
    }

    /**
     * out = x · wᵀ. GEMV: tinyrt's kernels (quantized ones dequantize in registers). CUBLAS: cublasGemmEx, for a
     * quantized weight on an fp16 copy dequantized into a scratch matrix first (prefill: the copy costs one pass
     * over the weight, small next to a GEMM of many rows).
     */
    private void linear(MatmulTactics.Tactic tactic, CudaTensor x, CudaWeight w, CudaTensor out) {
        CudaTensor in = activations(x, w);
        int n = in.rows();
        if (tactic == MatmulTactics.Tactic.GEMV) {
            int ks = splitK(w);
            int grid = ceilDiv(w.rows(), KernelNames.gemvRowsPerBlock(ks));
            if (w.format.quantized()) {
                launch(KernelNames.qgemv(w.format.kernel, n, out.fp32), grid, 1, 1, THREADS, 0,
                        quantArgs(w).ptr(in.pointer).ptr(out.pointer).i32(w.rows()).i32(w.cols()).i32(ks));
            } else {
                launch(KernelNames.gemv(n, out.fp32), grid, 1, 1, THREADS, 0, args.reset().ptr(w.pointer())
                        .ptr(in.pointer).ptr(out.pointer).i32(w.rows()).i32(w.cols()).i32(ks));
            }
        } else {
            device.cublas.linear(cublasHandle, fp16Values(w), in.pointer, out.pointer, out.fp32, n, w.rows(), w.cols());
        }
    }

    /**
     * The rows the weight's kernels multiply: x itself; for FP8 x quantized to e4m3 with the weight's activation
     * scale; for W8A8 x times the pre-scale, quantized to int8 per token, times the token's scale (both as fp16
     * values, in a scratch buffer).
     */
    private CudaTensor activations(CudaTensor x, CudaWeight w) {
        if (!w.format.quantizesActivations()) {
            return x;
        }
        long n = (long) x.rows() * x.cols();
        long scratch = activationScratch.atLeast(2 * n);
        if (w.format == CudaWeight.Format.W8A8) {
            launch(KernelNames.QUANT_INT8_TOKEN, x.rows(), 1, 1, THREADS, 0,
                    args.reset().ptr(x.pointer).ptr(w.preScale()).ptr(scratch).i32(x.cols()));
        } else {
            launch(KernelNames.QUANT_E4M3, gridFor(n), 1, 1, THREADS, 0,
                    args.reset().ptr(x.pointer).f32(w.activationScale).ptr(scratch).i64(n));
        }
        return new CudaTensor(scratch, x.rows(), x.cols(), false);
    }

    /**
     * The leading kernel arguments of a quantized weight: values, scales, group, pre-scale, pre-scale split. W8A8's
     * pre-scale went into its activation quantization, so the product gets none.
     */
    private KernelArgs quantArgs(CudaWeight w) {
        long pre = w.format == CudaWeight.Format.W8A8 ? 0 : w.preScale();
        return args.reset().ptr(w.pointer()).ptr(w.scales()).i32(w.groupSize).ptr(pre).i32(w.preSplit);
    }

    /** The split-K of the fused kernel {@code f} over {@code w}: the staged kernels take none. */
    private int splitK(FusedKernel f, CudaWeight w) {
        return f.staged() ? 1 : splitK(w);
    }

    /**
     * The split-K of {@code w}'s rows in the decode GEMVs: KernelNames.splitK's rule, or gemvSplitK for every row,
     * or gemvSplitKLong for the rows the rule splits.
     */
    private int splitK(CudaWeight w) {
        long rowBytes = w.valueBytesPerRow();
        int rule = KernelNames.splitK(rowBytes, 0);
        if (forcedSplitK > 0) {
            return KernelNames.splitK(rowBytes, forcedSplitK);
        }
        return forcedLongSplitK > 0 && rule > 1 ? KernelNames.splitK(rowBytes, forcedLongSplitK) : rule;
    }

    /** The fused batch-1 GEMVs: the residual add in the epilogue, or the RMSNorm in the prologue (plain or gate|up). */
    private enum FusedKind {
        RES("res"), NORM("norm"), GATE_UP_NORM("gate_up_norm");

        final String suffix;

        FusedKind(String suffix) {
            this.suffix = suffix;
        }
    }

    /**
     * preStaged: one of the kernels that stage x times an AWQ pre-scale (KernelNames.gemvPreScaled); staged: one of
     * the kernels that stream the weight through shared memory (KernelNames.gemvStaged, no split-K).
     */
    private record FusedKernel(String name, int shared, boolean preStaged, boolean staged) {
    }

    /**
     * The fused kernel for {@code w} and its dynamic shared memory: the pre-scaled one (KernelNames.gemvPreScaled)
     * for a weight-only quantized weight with a pre-scale shared by all rows, or for gate|up one per half, when its
     * rows fit the staging and -Dtinyrt.cuda.noPreStaging is not set; else the plain one, whose norm prologue takes
     * 2 * cols bytes.
     */
    private FusedKernel fusedKernel(CudaWeight w, FusedKind kind) {
        boolean norm = kind != FusedKind.RES;
        boolean weightOnly = w.format == CudaWeight.Format.W8A16 || w.format == CudaWeight.Format.W4A16;
        boolean halves = kind == FusedKind.GATE_UP_NORM && w.preSplit == w.rows() / 2;
        if (preStaging && weightOnly && w.preScale() != 0 && (w.preSplit >= w.rows() || halves)) {
            int staged = KernelNames.preScaledShared(w.cols(), halves ? 2 : 1, norm);
            if (staged > 0) {
                return new FusedKernel(KernelNames.gemvPreScaled(w.format.kernel, kind.suffix), staged, true, false);
            }
        }
        String format = w.format.kernel;
        if (stages(w)) {
            int shared = KernelNames.stagedShared(format, w.cols(), norm);
            if (shared <= KernelNames.MAX_BLOCK_SHARED) {
                return new FusedKernel(KernelNames.gemvStaged(format, kind.suffix), shared, false, true);
            }
        }
        String plain = switch (kind) {
            case RES -> KernelNames.gemvResidual(format);
            case NORM -> KernelNames.gemvNorm(format);
            case GATE_UP_NORM -> KernelNames.gemvGateUpNorm(format);
        };
        return new FusedKernel(plain, norm ? 2 * w.cols() : 0, false, false);
    }

    /**
     * Launches a fused batch-1 GEMV over {@code groups} row groups with blocks for all of them, or with
     * {@link #gemvWaves} at most that many waves of the blocks the GPU holds at once (the kernel walks the rest).
     */
    private void launchFused(FusedKernel f, int groups, KernelArgs a, FusedKind kind, CudaWeight w) {
        int grid = groups;
        if (f.staged()) {
            grid = Math.min(groups, stagedBlocksPerSm * device.multiprocessors());
            stagedLaunches++;
        } else if (gemvWaves > 0) {
            int wave = gemvBlocksPerSm > 0 ? gemvBlocksPerSm * device.multiprocessors()
                    : device.residentBlocks(f.name(), THREADS, f.shared());
            grid = Math.min(groups, gemvWaves * wave);
        }
        if (holdGemvStage(kind, f, w, grid, a)) {
            return;
        }
        launch(f.name(), grid, 1, 1, THREADS, f.shared(), a);
    }

    /**
     * Whether a one-row product goes to the GEMV regardless of its tactic because the staged kernels are on: its
     * fused form (residual add or norm, staged.cuh) is what they are for, while the tactics time the plain GEMV
     * against cuBLAS (at fp16 cuBLAS wins the down projection, and the add + norm after it stays a kernel of its own).
     */
    private boolean stagesOneRow(MatmulTactics.Shape shape, CudaTensor in, CudaWeight w, CudaTensor out) {
        return stages(w) && fuseNorms && in.rows() == 1 && !out.fp32 && MatmulTactics.gemvApplies(shape);
    }

    /** Whether the staged kernels are on and take {@code w}: fp16, W8A16 or W4A16 without a pre-scale. */
    private boolean stages(CudaWeight w) {
        boolean weightOnly = w.format == CudaWeight.Format.W8A16 || w.format == CudaWeight.Format.W4A16;
        return stagedGemv && !layerKernel
                && (w.format == CudaWeight.Format.F16 || (weightOnly && w.preScale() == 0));
    }

    /** The weight's fp16 values: its own, or for a quantized weight a copy dequantized into scratch memory. */
    private long fp16Values(CudaWeight w) {
        if (!w.format.quantized()) {
            return w.pointer();
        }
        long scratch = dequantScratch.atLeast(2L * w.rows() * w.cols());
        launch(KernelNames.dequant(w.format.kernel), device.multiprocessors() * 4, 1, 1, THREADS, 0,
                quantArgs(w).ptr(scratch).i32(w.rows()).i32(w.cols()));
        return scratch;
    }

    /** The gate|up product with SwiGLU in the GEMV's epilogue where that is the faster tactic; else the two ops. */
    @Override
    public void matmulSwiglu(Tensor x, Weight gateUp, Tensor gateUpOut, Tensor act) {
        openKeepingNorm();
        CudaTensor in = (CudaTensor) x;
        CudaTensor gu = (CudaTensor) gateUpOut;
        CudaTensor a = (CudaTensor) act;
        CudaWeight w = (CudaWeight) gateUp;
        int n = in.rows();
        int inner = w.rows() / 2;
        require(!in.fp32 && !gu.fp32 && !a.fp32 && w.rows() % 2 == 0 && in.cols() == w.cols() && gu.rows() == n
                && gu.cols() == w.rows() && a.rows() == n && a.cols() == inner, "matmulSwiglu shapes");
        MatmulTactics.Shape shape = new MatmulTactics.Shape(n, inner, w.cols(), false, true, w.format.label);
        MatmulTactics.Tactic tactic = stagesOneRow(shape, in, w, a) ? MatmulTactics.Tactic.GEMV
                : tactics.choose(shape, mayMeasure(), t -> timeMicros(() -> gateUpSwiglu(t, in, w, gu, a)));
        PendingNorm held = fuseNorms && n == 1 && !w.format.quantizesActivations() ? takeNorm(in, tactic) : null;
        if (held == null) {
            flushFusions();
        } else {
            KernelArgs ka = w.format.quantized() ? quantArgs(w) : args.reset().ptr(w.pointer());
            FusedKernel f = fusedKernel(w, FusedKind.GATE_UP_NORM);
            launchFused(f, ceilDiv(inner, THREADS / 32),
                    normPrologue(ka, held).ptr(a.pointer).i32(inner).i32(w.cols()), FusedKind.GATE_UP_NORM, w);
            profiled("matmul+swiglu " + w.rows() + "x" + w.cols() + formatLabel(w)
                    + (f.staged() ? " gemv staged + rms_norm" : " gemv + rms_norm"),
                    w.ownedBytes() + held.residual().bytes() + in.bytes() + a.bytes());
            return;
        }
        if (tactic == MatmulTactics.Tactic.CUBLAS) {
            matmul(x, gateUp, gateUpOut);
            swiglu(gateUpOut, act);
            return;
        }
        gateUpSwiglu(tactic, in, w, gu, a);
        profiled("matmul+swiglu " + w.rows() + "x" + w.cols() + formatLabel(w) + " gemv",
                w.ownedBytes() + in.bytes() + a.bytes());
    }

    private void gateUpSwiglu(MatmulTactics.Tactic tactic, CudaTensor x, CudaWeight w, CudaTensor gu, CudaTensor act) {
        if (tactic == MatmulTactics.Tactic.GEMV) {
            CudaTensor in = activations(x, w);
            int inner = w.rows() / 2;
            KernelArgs a = w.format.quantized() ? quantArgs(w).ptr(in.pointer)
                    : args.reset().ptr(w.pointer()).ptr(in.pointer);
            String kernel = w.format.quantized() ? KernelNames.qgemvGateUp(w.format.kernel, in.rows())
                    : KernelNames.gemvGateUp(in.rows());
            launch(kernel, ceilDiv(inner, THREADS / 32), 1, 1, THREADS, 0,
                    a.ptr(act.pointer).i32(inner).i32(w.cols()));
        } else {
            linear(MatmulTactics.Tactic.CUBLAS, x, w, gu);
            swigluKernel(gu, act);
        }
    }

    @Override
    public void ropeAndStoreKv(Tensor qkv, KvCache cache, int layer, StepBatch batch, RopeTable rope) {
        checkOpen();
        CudaTensor t = (CudaTensor) qkv;
        CudaKvCache c = (CudaKvCache) cache;
        Step s = prepare(batch, c);
        KvStorage kv = c.storage;
        int headDim = kv.headDim;
        int kvDim = kv.kvHeads * headDim;
        int heads = (t.cols() - 2 * kvDim) / headDim;
        require(!t.fp32 && t.rows() == s.plan.tokens() && heads == c.heads && rope.headDim() == headDim,
                "ropeAndStoreKv shapes");
        flushPendingKeepingLayer();
        if (s.plan.maxPosition() >= rope.maxPositions()) {
            throw new IllegalArgumentException("position " + s.plan.maxPosition() + " beyond the RoPE table");
        }
        long[] table = ropeTable(rope);
        if (fuseRope && s.plan.decodeOnly()) {
            pendingRope = new PendingRope(t, c, layer, s, table);
            return;
        }
        ropeKernel(t, c, layer, s, table);
    }

    private void ropeKernel(CudaTensor t, CudaKvCache c, int layer, Step s, long[] table) {
        KvStorage kv = c.storage;
        int heads = c.heads;
        launch(KernelNames.ropeStoreKv(kv.dtype), t.rows(), 1, 1, THREADS, 0, args.reset().ptr(t.pointer)
                .i32(t.cols()).ptr(table[0]).ptr(table[1]).ptr(s.at(s.plan.positionsAt()))
                .ptr(s.at(s.plan.slotsAt())).ptr(kv.keys(layer)).ptr(kv.values(layer)).i32(heads).i32(kv.kvHeads)
                .i32(kv.headDim).i32(kv.blockSize).f32(kv.scale(layer)));
        profiled("rope_kv", 2 * t.bytes() + 2L * kv.dtype.bytes() * t.rows() * kv.kvHeads * kv.headDim);
    }

    private void flushPending() {
        flushFusions();
        flushRope();
        releaseLayer();
    }

    /** flushPending for the RoPE op, which keeps a held layer: its attention stage comes next. */
    private void flushPendingKeepingLayer() {
        flushFusions();
        flushRope();
    }

    /** Launches held-back fusion candidates as plain ops (what came next could not take them over). */
    private void flushFusions() {
        PendingMatmul m = pendingMatmul;
        if (m != null) {
            pendingMatmul = null;
            linear(MatmulTactics.Tactic.GEMV, m.in(), m.w(), m.out());
            int ks = splitK(m.w());
            profiledMatmul(m.w(), MatmulTactics.Tactic.GEMV, ks, "", m.w().ownedBytes() + m.in().bytes()
                    + m.out().bytes());
        }
        PendingNorm n = pendingNorm;
        if (n != null) {
            pendingNorm = null;
            normKernel(n.residual(), n.gamma(), n.eps(), n.out());
        }
    }

    /** The entry of the ops that may take over a held-back norm: everything else held back runs first. */
    private void openKeepingNorm() {
        checkOpen();
        flushRope();
        PendingNorm held = pendingNorm;
        pendingNorm = null;
        flushFusions();
        pendingNorm = held;
    }

    /** The pending norm if it writes {@code x}; otherwise any pending norm runs now and the answer is null. */
    private PendingNorm takeNorm(CudaTensor x, MatmulTactics.Tactic tactic) {
        PendingNorm n = pendingNorm;
        if (n != null && tactic == MatmulTactics.Tactic.GEMV && n.out().pointer == x.pointer
                && n.out().rows() == x.rows()) {
            pendingNorm = null;
            return n;
        }
        flushFusions();
        return null;
    }

    /** Turns the fused residual add / RMSNorm of batch-1 GEMVs on or off (on unless -Dtinyrt.cuda.noNormFusion). */
    public void fuseNorms(boolean on) {
        flushPending();
        fuseNorms = on;
        graphs.invalidate();
    }

    /** Runs a held-back RoPE + KV write on its own (something other than its attention came next). */
    private void flushRope() {
        PendingRope p = pendingRope;
        if (p != null) {
            pendingRope = null;
            ropeKernel(p.qkv(), p.cache(), p.layer(), p.step(), p.table());
        }
    }

    /** cos and sin tables on the device, uploaded once per table. */
    private long[] ropeTable(RopeTable rope) {
        long[] known = ropeTables.get(rope);
        if (known != null) {
            return known;
        }
        if (capturing) {
            throw new IllegalStateException("a RoPE table cannot be uploaded while a CUDA graph is recorded");
        }
        long[] table = {memory.allocate(4L * rope.cos().length), memory.allocate(4L * rope.sin().length)};
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cos = a.allocateFrom(JAVA_FLOAT, rope.cos());
            MemorySegment sin = a.allocateFrom(JAVA_FLOAT, rope.sin());
            upload(table[0], cos);
            upload(table[1], sin);
        }
        ropeTables.put(rope, table);
        return table;
    }

    @Override
    public void attention(Tensor qkv, KvCache cache, int layer, StepBatch batch, Tensor out) {
        checkOpen();
        CudaTensor t = (CudaTensor) qkv;
        CudaTensor o = (CudaTensor) out;
        CudaKvCache c = (CudaKvCache) cache;
        flushFusions();  // never the RoPE: attention may take it over
        Step s = prepare(batch, c);
        KvStorage kv = c.storage;
        int d = kv.headDim;
        int heads = o.cols() / d;
        int g = c.headsPerBlock();
        require(!t.fp32 && !o.fp32 && heads == c.heads && t.rows() == s.plan.tokens() && o.rows() == t.rows()
                && t.cols() == (heads + 2 * kv.kvHeads) * d, "attention shapes");
        float scale = (float) (1.0 / Math.sqrt(d));
        StepPlan p = s.plan;
        long kvBytes = 2L * kv.dtype.bytes() * p.keysRead() * kv.kvHeads * d * (heads / kv.kvHeads) / g;
        PendingRope rope = pendingRope;
        boolean fused = rope != null && rope.qkv().pointer == t.pointer && rope.cache() == c && rope.layer() == layer
                && rope.step() == s;
        if (!fused) {
            flushRope();
        }
        pendingRope = null;
        if (p.decodeOnly()) {
            DecodeAttention a = decodeAttention(p, c);
            DecodeSplits splits = a.splits();
            KernelArgs ka = args.reset().ptr(t.pointer).i32(t.cols()).ptr(kv.keys(layer))
                    .ptr(kv.values(layer)).ptr(s.at(p.positionsAt())).ptr(s.at(p.rowSequenceAt()))
                    .ptr(s.at(p.blockTablesAt())).i32(p.width()).i32(kv.blockSize).i32(heads)
                    .i32(kv.kvHeads).i32(splits.length()).i32(splits.count()).f32(scale)
                    .ptr(partOut.pointer).ptr(partMaxSum.pointer).ptr(counters.pointer).ptr(o.pointer)
                    .ptr(fused ? rope.table()[0] : 0).ptr(fused ? rope.table()[1] : 0)
                    .ptr(s.at(p.slotsAt())).i32(fused ? 1 : 0).f32(kv.scale(layer));
            if (!holdAttentionStage(a, p, kv, heads, ka)) {
                launch(a.kernel(), a.gridX(), p.tokens(), splits.count(), a.threads(), 0, ka);
            }
            batchedAttentionLaunches += a.batched() ? 1 : 0;
            long read = a.batched() ? 2L * kv.dtype.bytes() * p.keysRead() * kv.kvHeads * d : kvBytes;  // batched: K and V read once
            profiled((a.batched() ? "attention decode batched" : "attention decode") + (fused ? " + rope_kv" : ""),
                    read + t.bytes() + o.bytes());
        } else {
            launch(KernelNames.attentionPrefill(kv.dtype, d, g), heads / g, p.tiles(), 1, PREFILL_ATTENTION_THREADS, 0,
                    args.reset().ptr(t.pointer).i32(t.cols()).ptr(kv.keys(layer)).ptr(kv.values(layer))
                            .ptr(s.at(p.positionsAt())).ptr(s.at(p.tilesAt())).ptr(s.at(p.blockTablesAt()))
                            .i32(p.width()).i32(kv.blockSize).i32(heads).i32(kv.kvHeads).f32(scale).ptr(o.pointer)
                            .f32(kv.scale(layer)));
            profiled("attention prefill", kvBytes + t.bytes() + o.bytes());
        }
    }

    @Override
    public void swiglu(Tensor gateUp, Tensor out) {
        ensureOpen();
        CudaTensor gu = (CudaTensor) gateUp;
        CudaTensor o = (CudaTensor) out;
        require(!gu.fp32 && !o.fp32 && gu.rows() == o.rows() && gu.cols() == 2 * o.cols(), "swiglu shapes");
        swigluKernel(gu, o);
        profiled("swiglu", gu.bytes() + o.bytes());
    }

    private void swigluKernel(CudaTensor gu, CudaTensor o) {
        launch(KernelNames.SWIGLU, gridFor((long) o.rows() * o.cols()), 1, 1, THREADS, 0,
                args.reset().ptr(gu.pointer).ptr(o.pointer).i32(o.rows()).i32(o.cols()));
    }

    @Override
    public void gatherRows(Tensor x, int[] rows, Tensor out) {
        ensureOpen();
        CudaTensor in = (CudaTensor) x;
        CudaTensor o = (CudaTensor) out;
        require(!in.fp32 && !o.fp32 && o.rows() == rows.length && o.cols() == in.cols(), "gatherRows shapes");
        for (int r : rows) {
            if (r < 0 || r >= in.rows()) {
                throw new IllegalArgumentException("row " + r + " outside [0, " + in.rows() + ")");
            }
        }
        if (rows.length == 0) {
            return;
        }
        long rowsPtr = deviceInts(rows, false);
        launch(KernelNames.GATHER_ROWS, rows.length, 1, 1, THREADS, 0,
                args.reset().ptr(in.pointer).ptr(rowsPtr).ptr(o.pointer).i32(in.cols()));
        profiled("gather_rows", 2 * o.bytes());
    }

    @Override
    public float[][] toHost(Tensor x) {
        ensureOpen();
        CudaTensor t = (CudaTensor) x;
        MemorySegment pinned = staging.atLeast(Math.max(t.bytes(), 4));
        driver.copyToHostAsync(pinned, t.pointer, t.bytes(), stream);
        driver.synchronize(stream);
        float[][] out = new float[t.rows()][t.cols()];
        long at = 0;
        for (int r = 0; r < t.rows(); r++) {
            float[] row = out[r];
            if (t.fp32) {
                MemorySegment.copy(pinned, JAVA_FLOAT, at, row, 0, row.length);
                at += 4L * row.length;
            } else {
                for (int c = 0; c < row.length; c++, at += 2) {
                    row[c] = Float.float16ToFloat(pinned.get(F16, at));
                }
            }
        }
        return out;
    }

    @Override
    public int[] argmaxRows(Tensor logits) {
        ensureOpen();
        pendingArgmax.forgetLast();  // a later step feeds only from the newest argmax
        CudaTensor t = (CudaTensor) logits;
        if (!t.fp32) {
            return Backend.super.argmaxRows(logits);
        }
        long ids = scratchInts.atLeast(4L * Math.max(t.rows(), 1));
        launch(KernelNames.ARGMAX_F32, t.rows(), 1, 1, 1024, 0, args.reset().ptr(t.pointer).ptr(ids).i32(t.cols()));
        profiled("argmax", t.bytes());
        MemorySegment pinned = staging.atLeast(4L * t.rows());
        driver.copyToHostAsync(pinned, ids, 4L * t.rows(), stream);
        driver.synchronize(stream);
        return pinned.asSlice(0, 4L * t.rows()).toArray(JAVA_INT);
    }

    @Override
    public PendingIds argmaxRowsAsync(Tensor logits) {
        ensureOpen();
        CudaTensor t = (CudaTensor) logits;
        if (!t.fp32 || t.rows() > PendingArgmax.MAX_ROWS) {
            pendingArgmax.forgetLast();  // these ids are not on the device: nothing may feed from older ones
            return Backend.super.argmaxRowsAsync(logits);
        }
        long ids = pendingArgmax.claim(t.rows());
        launch(KernelNames.ARGMAX_F32, t.rows(), 1, 1, 1024, 0, args.reset().ptr(t.pointer).ptr(ids).i32(t.cols()));
        profiled("argmax", t.bytes());
        return pendingArgmax.fetch(t.rows());
    }

    @Override
    public boolean feedsTokensOnDevice() {
        return true;
    }

    @Override
    public void feedTokensFromLastArgmax(int count) {
        ensureOpen();
        PendingArgmax.Ids last = pendingArgmax.last();
        if (last == null || last.rows != count) {
            throw new IllegalStateException(last == null ? "no greedy ids on the device to feed a step"
                    : "the last argmax picked " + last.rows + " ids, the step wants " + count);
        }
        feed = last;
    }

    @Override
    public boolean samplesOnDevice() {
        return true;
    }

    /** Temperature / top-k / top-p sampling on the GPU (sampling.cuh); only ids and log-probabilities come back. */
    @Override
    public SampledTokens sampleRows(Tensor logits, SamplingRow[] rows) {
        ensureOpen();
        pendingArgmax.forgetLast();
        SampledTokens out = sampler.sample((CudaTensor) logits, rows);
        profiled("sample", ((CudaTensor) logits).bytes());
        return out;
    }

    /** Threads per block of the sampling kernel (tests show the chosen tokens do not depend on it). */
    void samplingThreads(int n) {
        sampler.threads(n);
    }

    // ---- launching and timing -----------------------------------------------------------------------------

    private void launch(String kernel, int gridX, int gridY, int gridZ, int block, int sharedBytes, KernelArgs a) {
        if (!releasingLayer && !layerFusion.isEmpty()) {
            long[] saved = a.snapshot();  // releasing reuses the argument buffer
            releaseLayer();
            a.reset().append(saved);
        }
        device.makeCurrent();
        if (sharedBytes > DEFAULT_SHARED_LIMIT) {
            device.allowShared(kernel, sharedBytes);
        }
        if (pdl && stepPdl) {
            driver.launch(kernel, device.function(kernel), pdlConfig.set(gridX, gridY, gridZ, block, sharedBytes),
                    a.pointers());
        } else {
            driver.launch(kernel, device.function(kernel), gridX, gridY, gridZ, block, sharedBytes, stream,
                    a.pointers());
        }
    }

    private void profiled(String label, long bytes) {
        if (!layerFusion.isEmpty()) {
            layerFusion.mark(label, bytes);  // the held launch's label, recorded when it goes out
            return;
        }
        profiler.after(label, bytes);
    }

    // ---- the decode-layer kernel --------------------------------------------------------------------------

    /** Turns the staged batch-1 GEMVs on or off (see {@link #stagedGemv}). */
    public void useStagedGemv(boolean on) {
        flushPending();
        stagedGemv = on;
        graphs.invalidate();
    }

    /** Launches of staged GEMVs so far (eager launches and recordings; a graph replay counts none). */
    public long stagedGemvLaunches() {
        return stagedLaunches;
    }

    /** What the staged GEMVs are set to, for reports. */
    public String stagedGemvReport() {
        return stagedGemv ? "on (" + stagedBlocksPerSm + " block(s) per multiprocessor)" : "off";
    }

    /** Turns the decode-layer kernel on or off (see {@link #layerKernel}). */
    public void useLayerKernel(boolean on) {
        flushPending();
        layerKernel = on;
        graphs.invalidate();
    }

    /** Decode-layer kernel launches so far (eager launches and recordings; a graph replay counts none). */
    public long layerKernelLaunches() {
        return layerKernelLaunches;
    }

    /** Whether the decode-layer kernels stamp their stage trace (-Dtinyrt.cuda.layerTrace=true). */
    public boolean layerTracing() {
        return layerTrace != 0;
    }

    /** Clears the decode-layer stage trace (-Dtinyrt.cuda.layerTrace=true): the next launches fill it afresh. */
    public void clearLayerTrace() {
        if (layerTrace != 0) {
            flushPending();
            driver.memsetAsync(layerTrace, (byte) 0, LayerTrace.bufferBytes(maxLayerGrid()), stream);
            driver.synchronize(stream);
        }
    }

    /**
     * Where the decode-layer kernels' time went since {@link #clearLayerTrace()} (LayerTrace), or null without
     * -Dtinyrt.cuda.layerTrace=true or a traced launch.
     */
    public ObjectNode layerTraceReport() {
        if (layerTrace == 0 || layerTraceGrid == 0) {
            return null;
        }
        flushPending();
        long bytes = LayerTrace.bufferBytes(maxLayerGrid());
        MemorySegment pinned = staging.atLeast(bytes);
        driver.copyToHostAsync(pinned, layerTrace, bytes, stream);
        driver.synchronize(stream);
        long[] raw = pinned.asSlice(0, bytes).toArray(JAVA_LONG);
        LayerTrace.Summary s = LayerTrace.summarize(raw, maxLayerGrid(), layerTraceGrid);
        return s.launches() == 0 ? null : s.toJson();
    }

    /** How batch-1 decoder layers launch, for reports. */
    public String layerKernelReport() {
        return layerKernel ? "on (prefetch lookahead " + layerPrefetch + ", " + layerPrefetchKb + " KiB per block)"
                : "off";
    }

    /**
     * Holds a fused batch-1 GEMV as a stage of the layer being collected, if the decode-layer kernel is on and fits
     * it: fp16, W8A16 or W4A16 weights without a staged pre-scale (the plain fused kernels).
     */
    private boolean holdGemvStage(FusedKind kind, FusedKernel f, CudaWeight w, int grid, KernelArgs a) {
        if (!layerKernel || f.preStaged()
                || (w.format != CudaWeight.Format.F16 && w.format != CudaWeight.Format.W8A16
                && w.format != CudaWeight.Format.W4A16)) {
            return false;
        }
        DecodeLayerFusion.Stage stage = switch (kind) {
            case NORM -> DecodeLayerFusion.Stage.QKV;
            case GATE_UP_NORM -> DecodeLayerFusion.Stage.GATE_UP;
            case RES -> layerFusion.next() == DecodeLayerFusion.Stage.DOWN ? DecodeLayerFusion.Stage.DOWN
                    : DecodeLayerFusion.Stage.O_PROJ;
        };
        long[] own = a.snapshot();  // before releasing a held layer, which reuses the argument buffer
        if (stage == DecodeLayerFusion.Stage.QKV && !layerFusion.isEmpty()) {
            // the held layer prefetches this layer's q|k|v weight (and scales) as it ends, if the format matches
            boolean same = java.util.Objects.equals(layerFusion.format(), w.format.kernel);
            releaseLayer(same ? own[0] : 0L, same && w.format != CudaWeight.Format.F16 ? own[1] : 0L);
        }
        if (layerFusion.hold(new DecodeLayerFusion.Launch(stage, f.name(), grid, 1, 1, THREADS, f.shared(), own,
                w.cols(), new ArrayList<>()), w.format.kernel)) {
            return true;
        }
        a.reset().append(own);  // the caller launches it as it was
        return false;
    }

    /** Holds a batch-1 decode attention as the layer's second stage if the decode-layer kernel fits it. */
    private boolean holdAttentionStage(DecodeAttention a, StepPlan p, KvStorage kv, int heads, KernelArgs args) {
        if (!layerKernel || layerFusion.next() != DecodeLayerFusion.Stage.ATTENTION || p.tokens() != 1
                || a.batched() || a.gridX() != heads || kv.headDim != KernelNames.LAYER_HEAD_DIM
                || kv.dtype.bytes() != 2) {
            return false;
        }
        return layerFusion.hold(new DecodeLayerFusion.Launch(DecodeLayerFusion.Stage.ATTENTION, a.kernel(), a.gridX(),
                p.tokens(), a.splits().count(), a.threads(), 0, args.snapshot(), 0, new ArrayList<>()), null);
    }

    /**
     * Sends the held stages: a whole layer as one decode-layer kernel, a partial one as the launches it was. Its
     * grid is at most the blocks the GPU holds at once (the barriers need every block resident), and no more than
     * the widest stage has work for.
     */
    private void releaseLayer() {
        releaseLayer(0L, 0L);
    }

    /** As {@link #releaseLayer()}, naming the next layer's q|k|v weight and scales for the kernel to prefetch. */
    private void releaseLayer(long nextQkvWeight, long nextQkvScales) {
        if (layerFusion.isEmpty() || releasingLayer) {
            return;
        }
        String format = layerFusion.format();
        boolean whole = layerFusion.complete();
        List<DecodeLayerFusion.Launch> held = layerFusion.drain();
        releasingLayer = true;
        try {
            if (whole && launchLayer(format, held, nextQkvWeight, nextQkvScales)) {
                return;
            }
            for (DecodeLayerFusion.Launch l : held) {
                launch(l.kernel(), l.gridX(), l.gridY(), l.gridZ(), l.block(), l.shared(),
                        args.reset().append(l.args()));
                for (DecodeLayerFusion.Mark m : l.marks()) {
                    profiler.after(m.label(), m.bytes());
                }
            }
        } finally {
            releasingLayer = false;
        }
    }

    private boolean launchLayer(String format, List<DecodeLayerFusion.Launch> held, long nextQkvWeight,
                                long nextQkvScales) {
        String name = KernelNames.layer(format);
        int shared = 2 * DecodeLayerFusion.widestX(held);
        int work = 0;
        for (DecodeLayerFusion.Launch l : held) {
            work = Math.max(work, l.gridX() * l.gridY() * l.gridZ());
        }
        int grid = Math.min(work, device.residentBlocks(name, THREADS, shared));
        String key = name + "/" + grid;
        Integer slot = layerBarrierSlots.get(key);
        if (slot == null) {
            if (layerBarrierSlots.size() == LAYER_BARRIER_SLOTS) {
                return false;
            }
            slot = layerBarrierSlots.size();
            layerBarrierSlots.put(key, slot);
        }
        long trace = 0;
        if (layerTrace != 0) {
            trace = layerTrace + (layerKernelLaunches % LayerTrace.SLOTS) * LayerTrace.regionBytes(maxLayerGrid());
            layerTraceGrid = grid;
        }
        DecodeLayerFusion.layerArgs(args, layerBarriers + 8L * slot, layerPrefetch, layerPrefetchKb * 1024,
                nextQkvWeight, nextQkvScales, trace, held);
        launch(name, grid, 1, 1, THREADS, shared, args);
        layerKernelLaunches++;
        long bytes = 0;
        boolean marked = false;
        for (DecodeLayerFusion.Launch l : held) {
            for (DecodeLayerFusion.Mark m : l.marks()) {
                bytes += m.bytes();
                marked = true;
            }
        }
        if (marked) {
            profiler.after("decode layer " + (format == null ? "f16" : format)
                    + " (norm+q|k|v, rope+attention, o_proj+residual, norm+gate|up+swiglu, down+residual)", bytes);
        }
        return true;
    }

    private boolean mayMeasure() {
        return !capturing && !profiler.active();
    }

    /**
     * GPU time of one run of {@code op}: a spin kernel holds the GPU while the host enqueues ten runs, so the
     * events measure the runs back to back, not the launch latency.
     */
    /**
     * GPU microseconds per run of {@code op}: the best of three batches of ten back-to-back runs, each queued behind
     * a spin kernel so the GPU sees them as a graph would. The best, not the first: the first batch of a path can be
     * slower to enqueue than to run (cold host code, lazily loaded kernels), and a GPU left waiting for launches
     * measured the qkv GEMV at 58 us instead of 5 on the H100 (cuda_speed at 6fc54c3), sending it to cuBLAS.
     */
    private double timeMicros(Runnable op) {
        for (int i = 0; i < 3; i++) {
            op.run();  // warm-up (and lazy loading of cuBLAS kernels)
        }
        int reps = 10;
        double best = Double.MAX_VALUE;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ms = a.allocate(JAVA_FLOAT);
            for (int batch = 0; batch < 3; batch++) {
                launch(KernelNames.SPIN, 1, 1, 1, 1, 0, args.reset().i64(200_000));
                driver.record(timingStart, stream);
                for (int i = 0; i < reps; i++) {
                    op.run();
                }
                driver.record(timingEnd, stream);
                driver.synchronizeEvent(timingEnd);
                best = Math.min(best, driver.elapsedMs(timingStart, timingEnd, ms) * 1e3 / reps);
            }
        }
        return best;
    }

    /**
     * GPU time of one replay of the most recently replayed step graph, in microseconds (median of {@code repeats}
     * batches of ten back-to-back replays): a step's device time without the host's share. Replaying a step again
     * rewrites the same cache slots with the same values. NaN when no graph was replayed.
     */
    public double timeLastGraph(int repeats) {
        ensureOpen();
        MemorySegment graph = graphs.lastReplayed();
        if (graph == null) {
            return Double.NaN;
        }
        return timeOnGpu(() -> driver.launchGraph(graph, stream), repeats);
    }

    /** GPU time of {@code op} in microseconds (median of {@code repeats} back-to-back batches of ten runs). */
    public double timeOnGpu(Runnable op, int repeats) {
        ensureOpen();
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            t[i] = timeMicros(op);
        }
        java.util.Arrays.sort(t);
        return t[repeats / 2];
    }

    private static int gridFor(long elements) {
        return (int) Math.max(1, Math.min(4096, (elements + THREADS - 1) / THREADS));
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what + " do not fit the CUDA kernels");
        }
    }

    /** Every op starts here: held-back work (RoPE, fusion candidates) runs first, so work stays in program order. */
    private void ensureOpen() {
        checkOpen();
        flushPending();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the CUDA backend is closed");
        }
        device.makeCurrent();
    }

    // ---- bandwidth probes (for reports) -------------------------------------------------------------------

    /** Device-to-device copy bandwidth over {@code bytes}, counting bytes read plus written, in GB/s. */
    public double copyBandwidth(long bytes) {
        ensureOpen();
        long a = memory.allocate(bytes);
        long b = memory.allocate(bytes);
        try {
            double us = timeOnGpu(() -> driver.copyDeviceAsync(b, a, bytes, stream), 5);
            return 2.0 * bytes / (us * 1e3);
        } finally {
            driver.synchronize(stream);
            memory.free(a);
            memory.free(b);
        }
    }

    /** Read-only bandwidth over {@code bytes} (a streaming-load kernel over all SMs), in GB/s. */
    public double readBandwidth(long bytes) {
        ensureOpen();
        long data = memory.allocate(bytes);
        long sink = memory.allocate(4096);
        try {
            int blocks = device.multiprocessors() * 8;
            double us = timeOnGpu(() -> launch(KernelNames.READ_PROBE, blocks, 1, 1, 512, 0,
                    args.reset().ptr(data).i64(bytes / 16).ptr(sink)), 5);
            return bytes / (us * 1e3);
        } finally {
            driver.synchronize(stream);
            memory.free(data);
            memory.free(sink);
        }
    }

    // ---- closing ------------------------------------------------------------------------------------------

    @Override
    public void close() {
        if (closed) {
            return;
        }
        device.makeCurrent();
        try {
            flushPending();
            driver.synchronize(stream);
        } finally {
            closed = true;
            graphs.close();
            profiler.close();
            sampler.close();
            pendingArgmax.close();
            for (KvStorage s : storages) {
                s.close();
            }
            storages.clear();
            device.cublas.destroyHandle(cublasHandle);
            driver.destroyEvent(uploadDone);
            driver.destroyEvent(timingStart);
            driver.destroyEvent(timingEnd);
            stepHost.close();
            staging.close();
            uploadStaging.close();
            driver.destroyStream(stream);
            memory.close();
            host.close();
        }
    }
}
