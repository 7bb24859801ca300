package dev.tinyrt.runtime;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * Owns the KV-cache blocks: which are free, which belong to which sequence, and which full blocks can be shared
 * because they hold the same tokens after the same prefix (prefix reuse). A full block is identified by a hash
 * chained over all tokens before and in it; its token ids are kept to rule out collisions. Blocks no sequence
 * uses stay in the cache, evicted least recently freed first, until their space is needed.
 */
public final class BlockManager {
    private static final class Block {
        final int id;
        int refCount;
        long hash;
        int[] tokens;  // content of a full, hashed block

        Block(int id) {
            this.id = id;
        }
    }

    private final Block[] blocks;
    private final int blockSize;
    private final boolean prefixCaching;
    /** Unhashed free blocks: handed out first. */
    private final ArrayDeque<Integer> freeClean = new ArrayDeque<>();
    /** Free blocks that still hold reusable content, least recently freed first. */
    private final LinkedHashSet<Integer> freeCached = new LinkedHashSet<>();
    private final Map<Long, Integer> byHash = new HashMap<>();
    /** Blocks with more than one user, kept as references change (read after every executor step). */
    private int shared;
    private long lookups;
    private long hits;

    public BlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("need at least one block of at least one token");
        }
        this.blocks = new Block[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new Block(i);
            freeClean.add(i);
        }
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return blocks.length;
    }

    /** Blocks no sequence uses (cached content included: it is evictable). */
    public int freeBlocks() {
        return freeClean.size() + freeCached.size();
    }

    public int usedBlocks() {
        return blocks.length - freeBlocks();
    }

    /** Blocks currently used by more than one sequence. */
    public int sharedBlocks() {
        return shared;
    }

    /** Full prompt blocks looked up / found in the cache so far. */
    public long prefixLookups() {
        return lookups;
    }

    public long prefixHits() {
        return hits;
    }

    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /**
     * What of {@code tokens} is already cached.
     *
     * @param blocks  leading full blocks found in the cache
     * @param reviving how many of them no sequence uses now (sharing them takes them out of the free pool)
     */
    public record PrefixMatch(int blocks, int reviving) {
    }

    /**
     * The leading blocks of {@code tokens} already in the cache. Only blocks that end before the last token count:
     * that token must be computed to get logits, and its block stays private, so shared blocks are always full
     * and never written again (no copy-on-write is needed).
     */
    public PrefixMatch match(int[] tokens) {
        if (!prefixCaching) {
            return new PrefixMatch(0, 0);
        }
        int candidates = (tokens.length - 1) / blockSize;
        long hash = 0;
        int n = 0;
        int reviving = 0;
        for (int b = 0; b < candidates; b++) {
            hash = chain(hash, tokens, b);
            Integer id = byHash.get(hash);
            if (id == null || !Arrays.equals(blocks[id].tokens, 0, blockSize, tokens, b * blockSize,
                    (b + 1) * blockSize)) {
                break;
            }
            if (blocks[id].refCount == 0) {
                reviving++;
            }
            n++;
        }
        return new PrefixMatch(n, reviving);
    }

    /**
     * Starts a block table for a sequence whose first {@code cachedBlocks} blocks match the cache (from
     * {@link #match}): those are shared, nothing else is allocated yet. Counts prefix lookups and hits.
     */
    public int[] share(int[] prompt, int cachedBlocks) {
        int[] table = new int[cachedBlocks];
        if (prefixCaching) {
            lookups += (prompt.length - 1) / blockSize;
            hits += cachedBlocks;
        }
        long hash = 0;
        for (int b = 0; b < cachedBlocks; b++) {
            hash = chain(hash, prompt, b);
            Block block = blocks[byHash.get(hash)];
            if (block.refCount == 0) {
                freeCached.remove(block.id);
            } else if (block.refCount == 1) {
                shared++;
            }
            block.refCount++;
            table[b] = block.id;
        }
        return table;
    }

    /** A fresh private block (the caller checked that one is free). */
    public int take() {
        Integer id = freeClean.poll();
        if (id == null) {
            var it = freeCached.iterator();
            if (!it.hasNext()) {
                throw new IllegalStateException("no free KV-cache block");
            }
            id = it.next();
            it.remove();
            Block evicted = blocks[id];
            byHash.remove(evicted.hash, evicted.id);
            evicted.tokens = null;
        }
        blocks[id].refCount = 1;
        return id;
    }

    /**
     * Records that block {@code index} of a sequence with the given tokens is full, so later sequences with the
     * same prefix can share it.
     */
    public void registerFull(int[] table, int[] tokens, int index) {
        if (!prefixCaching) {
            return;
        }
        long hash = 0;
        for (int b = 0; b <= index; b++) {
            hash = chain(hash, tokens, b);
        }
        Block block = blocks[table[index]];
        if (block.tokens != null) {
            return;  // already registered (a shared block)
        }
        if (byHash.containsKey(hash)) {
            return;  // the same content lives in another block; keep that one
        }
        block.hash = hash;
        block.tokens = Arrays.copyOfRange(tokens, index * blockSize, (index + 1) * blockSize);
        byHash.put(hash, block.id);
    }

    /** Releases a sequence's blocks; cached content stays reusable until evicted. */
    public void free(int[] table, int used) {
        for (int i = used - 1; i >= 0; i--) {
            Block block = blocks[table[i]];
            if (--block.refCount == 1) {
                shared--;
            } else if (block.refCount == 0) {
                if (block.tokens != null) {
                    freeCached.add(block.id);
                } else {
                    freeClean.add(block.id);
                }
            } else if (block.refCount < 0) {
                throw new IllegalStateException("block " + block.id + " freed twice");
            }
        }
    }

    private long chain(long parent, int[] tokens, int block) {
        long h = parent * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        for (int i = block * blockSize; i < (block + 1) * blockSize; i++) {
            h = (h ^ tokens[i]) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }
}
