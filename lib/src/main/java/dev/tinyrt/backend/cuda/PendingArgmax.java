package dev.tinyrt.backend.cuda;

import dev.tinyrt.backend.Backend;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Greedy ids the host reads a step late. Each argmax writes to one of two device slots, is copied to the matching
 * pinned slot, and marks an event; the host waits for that event only when it asks for the ids. Meanwhile the next
 * step can be queued, its tokens copied from the slot on the device ({@link #last}). A slot is reused two argmaxes
 * later; if its ids were never asked for, they are read first, so no result is overwritten unseen.
 */
final class PendingArgmax implements AutoCloseable {
    /** Rows one slot holds; larger argmaxes run synchronously. */
    static final int MAX_ROWS = 1024;
    private static final int SLOTS = 2;

    private final CudaDriver driver;
    private final MemorySegment stream;
    private final DeviceArena memory;
    private final long device;
    private final MemorySegment host;
    private final MemorySegment[] copied = new MemorySegment[SLOTS];
    private final Ids[] inSlot = new Ids[SLOTS];
    private int next;
    private Ids last;

    PendingArgmax(CudaDriver driver, MemorySegment stream, DeviceArena memory) {
        this.driver = driver;
        this.stream = stream;
        this.memory = memory;
        this.device = memory.allocate(4L * MAX_ROWS * SLOTS);
        this.host = driver.mallocHost(4L * MAX_ROWS * SLOTS);
        for (int i = 0; i < SLOTS; i++) {
            copied[i] = driver.createEvent();
        }
    }

    /** The device slot the next argmax of {@code rows} ids writes (its previous ids read first if still pending). */
    long claim(int rows) {
        if (rows > MAX_ROWS) {
            throw new IllegalArgumentException(rows + " rows exceed the " + MAX_ROWS + " of a pending argmax");
        }
        Ids previous = inSlot[next];
        if (previous != null) {
            previous.await();
        }
        return device + 4L * MAX_ROWS * next;
    }

    /** Queues the copy of the claimed slot's ids to the host; the caller has queued the argmax into it. */
    Backend.PendingIds fetch(int rows) {
        int slot = next;
        MemorySegment pinned = host.asSlice(4L * MAX_ROWS * slot, 4L * rows);
        driver.copyToHostAsync(pinned, device + 4L * MAX_ROWS * slot, 4L * rows, stream);
        driver.record(copied[slot], stream);
        Ids ids = new Ids(slot, rows, device + 4L * MAX_ROWS * slot, pinned);
        inSlot[slot] = ids;
        last = ids;
        next = (slot + 1) % SLOTS;
        return ids;
    }

    /** After an argmax that did not go through here: {@link #last} has nothing to give. */
    void forgetLast() {
        last = null;
    }

    /** The newest ids' device address and count, or null before the first argmax (or after forgetLast). */
    Ids last() {
        return last;
    }

    final class Ids implements Backend.PendingIds {
        final int slot;
        final int rows;
        final long devicePointer;
        private final MemorySegment pinned;
        private int[] values;

        private Ids(int slot, int rows, long devicePointer, MemorySegment pinned) {
            this.slot = slot;
            this.rows = rows;
            this.devicePointer = devicePointer;
            this.pinned = pinned;
        }

        @Override
        public int[] await() {
            if (values == null) {
                driver.synchronizeEvent(copied[slot]);
                values = pinned.toArray(JAVA_INT);
                if (inSlot[slot] == this) {
                    inSlot[slot] = null;
                }
            }
            return values.clone();
        }
    }

    @Override
    public void close() {
        for (MemorySegment e : copied) {
            driver.destroyEvent(e);
        }
        driver.freeHost(host);
        memory.free(device);
    }
}
