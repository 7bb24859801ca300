package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.StepBatch;

import java.util.Arrays;
import java.util.List;

/**
 * A step's metadata as the kernels read it, packed into one int array that is uploaded in one copy per step:
 * token ids, positions, cache slots, each row's sequence, the rows whose logits are wanted, prefill attention tiles
 * and the block tables (one row of {@link #width()} entries per sequence, padded to a power of two so steps of
 * slightly different lengths share a shape). Only {@link #shape()} is baked into a recorded CUDA graph; everything
 * else is read from device memory by the kernels, so a graph replays with new values.
 */
final class StepPlan {
    /**
     * What a recorded step depends on besides its buffers: equal shapes launch identical kernels. Compared by
     * content; the hash is computed once, as every step looks its shape up (hundreds of chunks at large batches).
     */
    record Shape(int tokens, int width, int logitRows, int[] chunkTokens, int hash) {
        Shape(int tokens, int width, int logitRows, int[] chunkTokens) {
            this(tokens, width, logitRows, chunkTokens, 31 * (31 * (31 * tokens + width) + logitRows)
                    + Arrays.hashCode(chunkTokens));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Shape s && s.hash == hash && s.tokens == tokens && s.width == width
                    && s.logitRows == logitRows && Arrays.equals(s.chunkTokens, chunkTokens);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return "Shape[tokens=" + tokens + ", width=" + width + ", logitRows=" + logitRows + ", chunkTokens="
                    + Arrays.toString(chunkTokens) + "]";
        }
    }

    private final int tokens;
    private final int sequences;
    private final int width;
    private final int logitRows;
    private final int tiles;
    private final boolean decodeOnly;
    private final int maxPosition;
    private final long keysRead;
    private final int[] packed;
    private final Shape shape;

    private StepPlan(int tokens, int sequences, int width, int logitRows, int tiles, boolean decodeOnly,
                     int maxPosition, long keysRead, int[] packed, int[] chunkTokens) {
        this.tokens = tokens;
        this.sequences = sequences;
        this.width = width;
        this.logitRows = logitRows;
        this.tiles = tiles;
        this.decodeOnly = decodeOnly;
        this.maxPosition = maxPosition;
        this.keysRead = keysRead;
        this.packed = packed;
        this.shape = new Shape(tokens, width, logitRows, chunkTokens);
    }

    /**
     * @param storageBlocks  physical blocks the cache has (block table entries must be below it)
     * @param rowsPerTile    query rows per prefill attention tile (32 / query heads per block)
     */
    static StepPlan of(StepBatch batch, int blockSize, int storageBlocks, int rowsPerTile) {
        int n = batch.numTokens();
        int[] positions = batch.positions();
        List<StepBatch.Chunk> chunks = batch.sequences();
        int longestTable = 1;
        for (StepBatch.Chunk c : chunks) {
            longestTable = Math.max(longestTable, c.blockTable().length);
        }
        int width = Integer.highestOneBit(longestTable) == longestTable ? longestTable
                : Integer.highestOneBit(longestTable) << 1;
        int[] slots = new int[n];
        int[] rowSeq = new int[n];
        int tiles = 0;
        int[] chunkTokens = new int[chunks.size()];
        boolean decodeOnly = true;
        int maxPosition = 0;
        long keysRead = 0;
        for (int s = 0; s < chunks.size(); s++) {
            StepBatch.Chunk c = chunks.get(s);
            int[] table = c.blockTable();
            for (int b : table) {
                if (b < 0 || b >= storageBlocks) {
                    throw new IllegalArgumentException("block " + b + " outside the KV cache's " + storageBlocks
                            + " blocks");
                }
            }
            chunkTokens[s] = c.tokenCount();
            decodeOnly &= c.tokenCount() == 1;
            for (int r = c.tokenStart(); r < c.tokenStart() + c.tokenCount(); r++) {
                int pos = positions[r];
                if (pos < 0 || pos >= table.length * blockSize) {
                    throw new IllegalArgumentException("position " + pos + " is not covered by the sequence's "
                            + table.length + "-block table");
                }
                if (r > c.tokenStart() && pos != positions[r - 1] + 1) {
                    throw new IllegalArgumentException("positions within a sequence's chunk must be consecutive");
                }
                slots[r] = batch.slot(c, r, blockSize);
                rowSeq[r] = s;
                maxPosition = Math.max(maxPosition, pos);
                keysRead += pos + 1;
            }
            tiles += (c.tokenCount() + rowsPerTile - 1) / rowsPerTile;
        }
        int[] logits = batch.logitRows();
        int[] packed = new int[4 * n + logits.length + 3 * tiles + chunks.size() * width];
        System.arraycopy(batch.tokens(), 0, packed, 0, n);
        System.arraycopy(positions, 0, packed, n, n);
        System.arraycopy(slots, 0, packed, 2 * n, n);
        System.arraycopy(rowSeq, 0, packed, 3 * n, n);
        System.arraycopy(logits, 0, packed, 4 * n, logits.length);
        int at = 4 * n + logits.length;
        for (int s = 0; s < chunks.size(); s++) {  // prefill attention tiles: (sequence, first row, rows)
            StepBatch.Chunk c = chunks.get(s);
            for (int first = c.tokenStart(); first < c.tokenStart() + c.tokenCount(); first += rowsPerTile) {
                packed[at++] = s;
                packed[at++] = first;
                packed[at++] = Math.min(rowsPerTile, c.tokenStart() + c.tokenCount() - first);
            }
        }
        for (StepBatch.Chunk c : chunks) {
            System.arraycopy(c.blockTable(), 0, packed, at, c.blockTable().length);
            at += width;
        }
        return new StepPlan(n, chunks.size(), width, logits.length, tiles, decodeOnly, maxPosition,
                keysRead, packed, chunkTokens);
    }

    int tokens() {
        return tokens;
    }

    int sequences() {
        return sequences;
    }

    /** Entries per block-table row (a power of two). */
    int width() {
        return width;
    }

    int logitRows() {
        return logitRows;
    }

    int tiles() {
        return tiles;
    }

    /** Every sequence adds exactly one token: the split-K decode attention applies. */
    boolean decodeOnly() {
        return decodeOnly;
    }

    int maxPosition() {
        return maxPosition;
    }

    /** Sum over rows of the keys each row attends to (its position + 1). */
    long keysRead() {
        return keysRead;
    }

    Shape shape() {
        return shape;
    }

    int[] packed() {
        return packed;
    }

    long bytes() {
        return 4L * packed.length;
    }

    // int offsets of each array in packed()
    int tokensAt() {
        return 0;
    }

    int positionsAt() {
        return tokens;
    }

    int slotsAt() {
        return 2 * tokens;
    }

    int rowSequenceAt() {
        return 3 * tokens;
    }

    int logitRowsAt() {
        return 4 * tokens;
    }

    int tilesAt() {
        return 4 * tokens + logitRows;
    }

    int blockTablesAt() {
        return 4 * tokens + logitRows + 3 * tiles;
    }

    @Override
    public String toString() {
        return "StepPlan" + shape + Arrays.toString(packed);
    }
}
