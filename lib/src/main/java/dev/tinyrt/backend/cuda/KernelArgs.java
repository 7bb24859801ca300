package dev.tinyrt.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The {@code void** kernelParams} array of cuLaunchKernel: one 8-byte slot per argument and an array of pointers to
 * the slots, NULL after the last argument (the driver knows each kernel's parameter count and ignores it; a test
 * driver counts the arguments by it). Reused for every launch: the driver copies the values at launch, also while
 * a graph is being captured.
 */
final class KernelArgs {
    private static final int MAX = 80;  // the most any kernel takes is 74 (the decode-layer kernels)
    private final MemorySegment values;
    private final MemorySegment pointers;
    private int count;
    private int terminated = -1;

    KernelArgs(Arena arena) {
        values = arena.allocate(8L * MAX, 8);
        pointers = arena.allocate(ADDRESS.byteSize() * MAX, 8);
        for (int i = 0; i < MAX; i++) {
            pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
        }
    }

    KernelArgs reset() {
        count = 0;
        return this;
    }

    /** A device pointer (or any 64-bit argument). */
    KernelArgs ptr(long value) {
        values.set(JAVA_LONG, 8L * next(), value);
        return this;
    }

    KernelArgs i32(int value) {
        values.set(JAVA_INT, 8L * next(), value);
        return this;
    }

    KernelArgs i64(long value) {
        return ptr(value);
    }

    KernelArgs f32(float value) {
        values.set(JAVA_FLOAT, 8L * next(), value);
        return this;
    }

    /** The arguments set since the last reset, one 8-byte slot each (to be passed on with {@link #append}). */
    long[] snapshot() {
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = values.get(JAVA_LONG, 8L * i);
        }
        return out;
    }

    /** Arguments as {@link #snapshot} took them, whole 8-byte slots, after those set already. */
    KernelArgs append(long[] slots) {
        for (long v : slots) {
            ptr(v);
        }
        return this;
    }

    private int next() {
        if (count == MAX) {
            throw new IllegalStateException("more than " + MAX + " kernel arguments");
        }
        return count++;
    }

    MemorySegment pointers() {
        if (terminated >= 0) {
            pointers.setAtIndex(ADDRESS, terminated, values.asSlice(8L * terminated, 8));
            terminated = -1;
        }
        if (count < MAX) {
            pointers.setAtIndex(ADDRESS, count, MemorySegment.NULL);
            terminated = count;
        }
        return pointers;
    }
}
