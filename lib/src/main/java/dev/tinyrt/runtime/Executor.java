package dev.tinyrt.runtime;

import dev.tinyrt.TinyrtException;
import dev.tinyrt.backend.KvCache;
import dev.tinyrt.backend.StepBatch;
import dev.tinyrt.model.LlamaConfig;
import dev.tinyrt.model.LlamaModel;
import dev.tinyrt.tokenizer.Tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Serves many requests at once with iteration-level ("in-flight") batching over a paged KV cache, as
 * TensorRT-LLM's executor and vLLM's scheduler do. One engine thread loops: admit waiting requests while blocks
 * and the step's token budget allow, run one forward step for every active sequence (a decode token each, or a
 * chunk of a prompt), sample, stream, retire finished sequences. Requests join and leave between steps.
 *
 * <p>Thread-safe: any thread may submit or cancel. A request that cannot fit is never lost: it waits until
 * blocks free up. A listener that throws fails only its own request.
 */
public final class Executor implements AutoCloseable {
    private final LlamaModel model;
    private final Tokenizer tokenizer;
    private final Set<Integer> eosIds;
    private final ExecutorConfig config;
    private final KvCache cache;
    private final BlockManager blocks;
    private final ConcurrentLinkedQueue<Sequence> submitted = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final AtomicLong ids = new AtomicLong();
    private final Thread thread;
    private volatile boolean closed;
    /** Set by a cancel: the engine scans its queues for cancelled requests only then. */
    private final java.util.concurrent.atomic.AtomicBoolean cancels = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile Consumer<StepStats> stepListener = s -> { };
    private long steps;
    /** Blocks promised to admitted sequences but not yet taken (GUARANTEED_NO_EVICT). */
    private int reserved;

    /** One request as the scheduler sees it. */
    private final class Sequence {
        final long id;
        final Request request;
        final RequestHandle handle;
        final SequenceDecoding decoding;
        int[] table = new int[0];
        int blocksHeld;
        int computed;       // tokens whose keys/values are in the cache
        int registered;     // leading full blocks offered for prefix reuse
        int reservation;    // blocks still promised to this sequence
        int maxBlocks;
        boolean active;     // in {@link #running}; cleared when it leaves (removed from the list lazily)

        Sequence(long id, Request request, RequestHandle handle, SequenceDecoding decoding) {
            this.id = id;
            this.request = request;
            this.handle = handle;
            this.decoding = decoding;
        }

        int pending() {
            return decoding.length() - computed;
        }
    }

    public Executor(LlamaModel model, Tokenizer tokenizer, List<Integer> eosIds, ExecutorConfig config) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.eosIds = Set.copyOf(eosIds);
        this.config = config;
        this.blocks = new BlockManager(config.numBlocks(), config.tokensPerBlock(), config.prefixCaching());
        this.cache = model.kvCache(config.numBlocks(), config.tokensPerBlock(),
                model.kvCacheFormat(config.kvCacheDtype()));
        this.thread = Thread.ofPlatform().name("tinyrt-executor").daemon().start(this::loop);
    }

    public ExecutorConfig config() {
        return config;
    }

    /** The KV cache this executor allocated (its element type and bytes as the backend holds them). */
    public KvCache kvCache() {
        return cache;
    }

    public BlockManager blockManager() {
        return blocks;
    }

    /** Receives statistics after every step (on the engine thread). */
    public void onStep(Consumer<StepStats> listener) {
        this.stepListener = listener == null ? s -> { } : listener;
    }

    /** Queues a request. Invalid requests come back with a failed future; the others are unaffected. */
    public RequestHandle submit(Request request) {
        long id = ids.incrementAndGet();
        RequestHandle handle = new RequestHandle(id, request.params().maxNewTokens() + 2, this::cancelled);
        if (closed) {
            handle.fail(new TinyrtException("the executor is closed"));
            return handle;
        }
        try {
            validate(request);
        } catch (TinyrtException e) {
            handle.fail(e);
            return handle;
        }
        TokenListener listener = (token, text) -> {
            request.listener().onToken(token, text);
            handle.publish(token, text);
        };
        LlamaConfig c = model.config();
        SequenceDecoding decoding = new SequenceDecoding(request.promptIds(), request.params(), tokenizer, eosIds,
                c.maxPositionEmbeddings(), listener, System.nanoTime());
        if (decoding.finished()) {
            handle.complete(decoding.result());
            return handle;
        }
        submitted.add(new Sequence(id, request, handle, decoding));
        wake();
        return handle;
    }

    private void validate(Request request) {
        Generator.validate(request.promptIds(), request.params(), tokenizer, model.config());
        if (request.promptIds().length > config.maxInputLen()) {
            throw new TinyrtException("prompt has " + request.promptIds().length + " tokens but max_input_len is "
                    + config.maxInputLen());
        }
        int longest = Math.min(request.promptIds().length + request.params().maxNewTokens(),
                model.config().maxPositionEmbeddings());
        if (blocks.blocksFor(longest) > blocks.totalBlocks()) {
            throw new TinyrtException("a sequence of " + longest + " tokens can never fit the KV cache of "
                    + blocks.totalBlocks() * blocks.blockSize() + " tokens");
        }
    }

    /** Runs every prompt with the same parameters and waits for all results, in order. */
    public List<GenerationResult> generate(List<int[]> prompts, SamplingParams params) {
        List<RequestHandle> handles = prompts.stream().map(p -> submit(new Request(p, params))).toList();
        CompletableFuture.allOf(handles.stream().map(RequestHandle::result).toArray(CompletableFuture[]::new))
                .exceptionally(t -> null).join();
        List<GenerationResult> results = new ArrayList<>();
        for (int i = 0; i < handles.size(); i++) {
            try {
                results.add(handles.get(i).result().join());
            } catch (java.util.concurrent.CompletionException e) {
                throw new TinyrtException("request " + i + " failed: " + e.getCause().getMessage(), e.getCause());
            }
        }
        return results;
    }

    private void cancelled() {
        cancels.set(true);
        wake();
    }

    private void wake() {
        lock.lock();
        try {
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (!closed) {
            // the flag first: a request cancelled before it is cleared was submitted before, so is polled below
            boolean cancelled = cancels.getAndSet(false);
            for (Sequence s; (s = submitted.poll()) != null; ) {
                waiting.add(s);
            }
            if (cancelled) {
                retireCancelled();
            }
            if (waiting.isEmpty() && running.isEmpty()) {
                lock.lock();
                try {
                    if (submitted.isEmpty() && !closed) {
                        work.awaitNanos(50_000_000L);
                    }
                } catch (InterruptedException e) {
                    return;
                } finally {
                    lock.unlock();
                }
                continue;
            }
            try {
                step();
            } catch (RuntimeException | Error e) {
                // a bug in a step fails everything in flight rather than hanging every caller
                for (Sequence s : new ArrayList<>(running)) {
                    s.active = false;
                    release(s);
                    s.handle.fail(e);
                }
                running.clear();
                if (e instanceof Error err) {
                    throw err;
                }
            }
        }
    }

    private void retireCancelled() {
        for (Iterator<Sequence> it = waiting.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.handle.cancelRequested()) {
                it.remove();
                release(s);
                s.decoding.cancel();
                s.handle.complete(s.decoding.result());
            }
        }
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence s = it.next();
            if (s.handle.cancelRequested()) {
                it.remove();
                s.active = false;
                release(s);
                s.decoding.cancel();
                s.handle.complete(s.decoding.result());
            }
        }
    }

    /** One iteration: schedule, run the model once, sample and retire. */
    private void step() {
        long t0 = System.nanoTime();
        List<Sequence> batch = new ArrayList<>(Math.min(config.maxBatchSize(), running.size() + waiting.size()));
        int[] chunks = new int[Math.min(config.maxBatchSize(), running.size() + waiting.size())];
        int budget = config.maxNumTokens();
        // decodes first (one token each), then prompt chunks, each in running order (a stable partition);
        // a snapshot, as preemption removes from running
        Sequence[] order = running.toArray(new Sequence[0]);
        for (int pass = 0; pass < 2; pass++) {
            for (Sequence s : order) {
                if (batch.size() == config.maxBatchSize() || budget == 0) {
                    break;
                }
                if ((s.pending() == 1) != (pass == 0) || !s.active) {
                    continue;  // the other pass's, or preempted earlier in this step
                }
                int n = Math.min(s.pending(), budget);
                if (!ensureBlocks(s, s.computed + n, batch)) {
                    continue;  // preempted or waiting for a block (MAX_UTILIZATION only)
                }
                chunks[batch.size()] = n;
                batch.add(s);
                budget -= n;
            }
        }
        while (!waiting.isEmpty() && batch.size() < config.maxBatchSize() && budget > 0) {
            Sequence s = waiting.peek();
            if (!admit(s)) {
                break;  // first come, first served: nothing overtakes a request that waits for blocks
            }
            waiting.poll();
            running.add(s);
            s.active = true;
            int n = Math.min(s.pending(), budget);
            ensureBlocks(s, s.computed + n, batch);
            chunks[batch.size()] = n;
            batch.add(s);
            budget -= n;
        }
        if (batch.isEmpty()) {
            java.util.concurrent.locks.LockSupport.parkNanos(100_000L);  // blocked on blocks: let others finish
            return;
        }
        int prefill = 0;
        int decode = 0;
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            int promptLeft = Math.max(0, s.decoding.prompt().length - s.computed);
            prefill += Math.min(promptLeft, chunks[i]);
            decode += promptLeft == 0 ? 1 : 0;
        }
        run(batch, chunks);
        long used = 0;
        for (Sequence s : running) {
            used += s.computed;
        }
        steps++;
        stepListener.accept(new StepStats(steps, System.nanoTime() - t0, batch.size(), prefill, decode,
                waiting.size() + submitted.size(), blocks.usedBlocks(), blocks.freeBlocks(), blocks.sharedBlocks(),
                used, blocks.blockSize()));
    }

    /** Admission control: the prompt's blocks now, and under GUARANTEED_NO_EVICT its whole possible length. */
    private boolean admit(Sequence s) {
        int[] tokens = s.decoding.tokens();
        BlockManager.PrefixMatch match = blocks.match(tokens);
        int longest = Math.min(s.decoding.prompt().length + s.request.params().maxNewTokens(),
                model.config().maxPositionEmbeddings());
        int maxBlocks = blocks.blocksFor(Math.max(longest, tokens.length));
        int needNow = blocks.blocksFor(tokens.length) - match.blocks() + match.reviving();
        int needEver = maxBlocks - match.blocks() + match.reviving();
        boolean guaranteed = config.policy() == ExecutorConfig.Policy.GUARANTEED_NO_EVICT;
        int available = blocks.freeBlocks() - reserved;
        if ((guaranteed ? needEver : needNow) > available) {
            return false;
        }
        s.table = Arrays.copyOf(blocks.share(tokens, match.blocks()), maxBlocks);
        s.blocksHeld = match.blocks();
        s.registered = match.blocks();
        s.computed = match.blocks() * blocks.blockSize();
        s.maxBlocks = maxBlocks;
        if (guaranteed) {
            s.reservation = maxBlocks - match.blocks();
            reserved += s.reservation;
        }
        return true;
    }

    /** Makes sure {@code s} holds blocks for its first {@code tokens} tokens; never preempts a scheduled one. */
    private boolean ensureBlocks(Sequence s, int tokens, List<Sequence> scheduled) {
        int need = blocks.blocksFor(tokens);
        while (s.blocksHeld < need) {
            if (s.reservation > 0) {
                s.reservation--;
                reserved--;
            } else if (blocks.freeBlocks() - reserved <= 0) {
                if (!preemptNewestBut(s, scheduled)) {
                    return false;
                }
                continue;
            }
            if (s.blocksHeld == s.table.length) {
                s.table = Arrays.copyOf(s.table, Math.max(4, s.table.length * 2));
            }
            s.table[s.blocksHeld++] = blocks.take();
        }
        return true;
    }

    /** MAX_UTILIZATION: frees the newest other running sequence, which will recompute from its tokens later. */
    private boolean preemptNewestBut(Sequence keep, List<Sequence> scheduled) {
        for (int i = running.size() - 1; i >= 0; i--) {
            Sequence victim = running.get(i);
            if (victim != keep && !scheduled.contains(victim)) {
                running.remove(i);
                victim.active = false;
                release(victim);
                victim.computed = 0;
                victim.registered = 0;
                waiting.addFirst(victim);
                return true;
            }
        }
        return false;
    }

    private void release(Sequence s) {
        if (s.blocksHeld > 0) {
            blocks.free(s.table, s.blocksHeld);
        }
        reserved -= s.reservation;
        s.reservation = 0;
        s.blocksHeld = 0;
    }

    private void run(List<Sequence> batch, int[] chunks) {
        int total = 0;
        for (int i = 0; i < batch.size(); i++) {
            total += chunks[i];
        }
        int[] tokens = new int[total];
        int[] positions = new int[total];
        List<StepBatch.Chunk> parts = new ArrayList<>(batch.size());
        int[] logitRows = new int[batch.size()];
        List<SequenceDecoding> wanting = new ArrayList<>(batch.size());
        int row = 0;
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            int n = chunks[i];
            s.decoding.copyTokens(s.computed, tokens, row, n);
            for (int j = 0; j < n; j++) {
                positions[row + j] = s.computed + j;
            }
            parts.add(new StepBatch.Chunk(row, n, s.computed + n, Arrays.copyOf(s.table, s.blocksHeld)));
            if (s.computed + n == s.decoding.length()) {
                logitRows[wanting.size()] = row + n - 1;
                wanting.add(s.decoding);
            }
            row += n;
        }
        StepSampler.Picks picks = StepSampler.run(model, new StepBatch(tokens, positions, parts,
                Arrays.copyOf(logitRows, wanting.size())), cache, wanting);
        int next = 0;
        boolean retired = false;
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            s.computed += chunks[i];
            registerFullBlocks(s);
            if (s.computed < s.decoding.length()) {
                continue;  // a prompt chunk: more to prefill
            }
            boolean finished;
            try {
                finished = picks.accept(next++, s.decoding);
            } catch (RuntimeException e) {
                s.active = false;
                retired = true;
                release(s);
                s.handle.fail(new TinyrtException("request " + s.id + " failed in its token callback: " + e, e));
                continue;
            }
            if (finished) {
                s.active = false;
                retired = true;
                release(s);
                s.handle.complete(s.decoding.result());
            }
        }
        if (retired) {
            running.removeIf(s -> !s.active);  // one pass, not a search per finished sequence
        }
    }

    private void registerFullBlocks(Sequence s) {
        int full = s.computed / blocks.blockSize();
        if (full > s.registered) {
            int[] all = s.decoding.tokensView();
            for (int b = s.registered; b < full; b++) {
                blocks.registerFull(s.table, all, b);
            }
            s.registered = full;
        }
    }

    /** Stops the engine thread; requests still in flight fail. */
    @Override
    public void close() {
        closed = true;
        wake();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        TinyrtException stopped = new TinyrtException("the executor was closed");
        for (Sequence s : running) {
            s.handle.fail(stopped);
        }
        for (Sequence s : waiting) {
            s.handle.fail(stopped);
        }
        for (Sequence s; (s = submitted.poll()) != null; ) {
            s.handle.fail(stopped);
        }
        cache.close();
    }
}
