package dev.tinyrt.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A byte matrix {@code [rows, rowBytes]} stored four rows at a time, chunk by chunk: for each group of four rows,
 * chunk c ({@code chunk} bytes) of each of the four rows one after another, then the four rows' tails (the last
 * {@code rowBytes % chunk} bytes) one after another. Rows are padded with zeros to a multiple of four.
 *
 * <p>Why: one row's dot product is a single chain of dependent FMAs (the accumulation scheme of {@link VectorMath}
 * fixes its order), so a single-row loop waits on FMA latency and decodes int8 at about half the speed the memory
 * delivers. Four rows computed side by side hide the latency, but four separate row streams read from DRAM
 * measured slower still on this machine; interleaved, the four rows' next chunks are one cache line (4 x 16 bytes
 * with AVX-512) and the four-row kernel reads a single sequential stream.
 */
final class InterleavedRows {
    static final int ROWS = 4;

    private final int rows;
    private final int rowBytes;
    private final int chunk;
    private final int vectorBytes;
    private final int tailBytes;
    private final MemorySegment data;

    /** Copies the row-major {@code source} ({@code rows * rowBytes} bytes) into the interleaved layout. */
    InterleavedRows(MemorySegment source, int rows, int rowBytes, int chunk) {
        this.rows = rows;
        this.rowBytes = rowBytes;
        this.chunk = chunk;
        this.vectorBytes = rowBytes / chunk * chunk;
        this.tailBytes = rowBytes - vectorBytes;
        long padded = (long) (rows + ROWS - 1) / ROWS * ROWS;
        this.data = Arena.ofAuto().allocate(padded * rowBytes, 64);
        for (int r = 0; r < rows; r++) {
            long src = (long) r * rowBytes;
            for (int b = 0; b < vectorBytes; b += chunk) {
                MemorySegment.copy(source, src + b, data, chunkOffset(r, b), chunk);
            }
            MemorySegment.copy(source, src + vectorBytes, data, tailOffset(r), tailBytes);
        }
    }

    /** The first row in [from, to) that starts a group of four (or {@code to}). */
    static int firstGroup(int from, int to) {
        return Math.min(to, (from + ROWS - 1) / ROWS * ROWS);
    }

    private long groupBase(int row) {
        return (long) (row - row % ROWS) * rowBytes;
    }

    /** Where bytes {@code [byteIndex, byteIndex + chunk)} of {@code row} are (byteIndex a multiple of chunk). */
    long chunkOffset(int row, int byteIndex) {
        return groupBase(row) + (long) byteIndex * ROWS + (long) (row % ROWS) * chunk;
    }

    /** Where the row's last {@code rowBytes % chunk} bytes are, contiguous. */
    long tailOffset(int row) {
        return groupBase(row) + (long) vectorBytes * ROWS + (long) (row % ROWS) * tailBytes;
    }

    int rows() {
        return rows;
    }

    int chunk() {
        return chunk;
    }

    /** Bytes of each row in whole chunks. */
    int vectorBytes() {
        return vectorBytes;
    }

    MemorySegment data() {
        return data;
    }
}
