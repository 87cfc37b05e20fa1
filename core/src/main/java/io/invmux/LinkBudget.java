package io.invmux;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A cap on the stream bytes one path may be sent in a rolling window: a metered path's plan (an LTE link billed by
 * the gigabyte). Set on a link with {@link Connection#setBudget}; a redial of the link keeps the same budget, so it
 * belongs to the path, not to one connection.
 *
 * <p>While its budget is spent, a link gets no stream data as long as any other link of the session takes data; it
 * keeps its heartbeats (so it is measured and ready), and it is the link of last resort when every other one is
 * lost. What is counted is every chunk this end sends on the link (re-sent chunks and redundant copies included),
 * not the frames' headers nor the transport's own overhead (TCP/TLS headers, retransmissions): set the cap a few
 * percent under the plan's. Chunks already scheduled when the budget runs out still go, so it is exceeded by at most
 * the link's in-flight cap. The peer's sends on the same path are the peer's to cap.
 *
 * <p>The window is split into 24 slots (an hour each for a day): the bytes of a slot are forgotten once it is a whole
 * window old. Thread-safe; {@link #record} is called on the session's loop for every chunk sent.
 */
public final class LinkBudget {
    private static final int SLOTS = 24;

    private final long limitBytes;
    private final Duration window;
    private final long slotNanos;
    private final LongSupplier clock;
    /** Guarded by this: bytes sent per slot, the slot {@code i} holding slot number {@code n} with n % SLOTS == i. */
    private final long[] slotBytes = new long[SLOTS];
    /** Guarded by this: the number of the newest slot written; slots older than SLOTS before it are zero. */
    private long newestSlot;
    /** Guarded by this: the sum of {@link #slotBytes}. */
    private long usedBytes;
    /** Guarded by this: whether the last record left the budget spent, to count each exhaustion once. */
    private boolean spent;
    /** Guarded by this. */
    private long exhaustions;

    private LinkBudget(long limitBytes, Duration window, LongSupplier clock) {
        if (limitBytes <= 0) {
            throw new IllegalArgumentException("a link budget must be positive, got " + limitBytes + " bytes");
        }
        if (window == null || window.toNanos() < SLOTS) {
            throw new IllegalArgumentException("a link budget's window must be positive, got " + window);
        }
        this.limitBytes = limitBytes;
        this.window = window;
        this.slotNanos = window.toNanos() / SLOTS;
        this.clock = clock;
        this.newestSlot = clock.getAsLong() / slotNanos;
    }

    /** At most {@code bytes} in any 24 hours. */
    public static LinkBudget perDay(long bytes) {
        return of(bytes, Duration.ofDays(1));
    }

    /** At most {@code bytes} in any {@code window}. */
    public static LinkBudget of(long bytes, Duration window) {
        return new LinkBudget(bytes, window, System::nanoTime);
    }

    /** As {@link #of(long, Duration)}, with the time in nanoseconds from {@code clock} (tests). */
    static LinkBudget of(long bytes, Duration window, LongSupplier clock) {
        return new LinkBudget(bytes, window, clock);
    }

    public long limitBytes() {
        return limitBytes;
    }

    public Duration window() {
        return window;
    }

    /** Bytes sent in the current window. */
    public synchronized long usedBytes() {
        advance();
        return usedBytes;
    }

    /** Bytes that may still be sent in the current window (0 when spent). */
    public long remainingBytes() {
        return Math.max(0, limitBytes - usedBytes());
    }

    /** Whether the window's bytes have reached the limit: the link carries stream data only as a last resort. */
    public synchronized boolean exhausted() {
        advance();
        return usedBytes >= limitBytes;
    }

    /** Times the budget ran out (each time the bytes reached the limit after being under it). */
    public synchronized long exhaustions() {
        return exhaustions;
    }

    /** Counts {@code bytes} sent on the link now. */
    public synchronized void record(long bytes) {
        advance();
        slotBytes[(int) (newestSlot % SLOTS)] += bytes;
        usedBytes += bytes;
        if (!spent && usedBytes >= limitBytes) {
            spent = true;
            exhaustions++;
        }
    }

    /** [this] Moves to the current slot, forgetting the slots that are a whole window old. */
    private void advance() {
        long now = clock.getAsLong() / slotNanos;
        if (now <= newestSlot) {
            return;
        }
        long steps = Math.min(now - newestSlot, SLOTS);
        for (long i = 1; i <= steps; i++) {
            int slot = (int) ((newestSlot + i) % SLOTS);
            usedBytes -= slotBytes[slot];
            slotBytes[slot] = 0;
        }
        newestSlot = now;
        if (usedBytes < limitBytes) {
            spent = false;
        }
    }

    @Override
    public String toString() {
        return "LinkBudget[" + usedBytes() + " of " + limitBytes + " bytes per " + window + "]";
    }
}
