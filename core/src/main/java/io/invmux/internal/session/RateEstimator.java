package io.invmux.internal.session;

/**
 * Delivery rate of a link, from the bytes the peer reports having received on it. Every check interval the link
 * passes the latest report (cumulative bytes, and when it came); the estimate is the best rate seen over any three consecutive samples within the
 * last ten (over the first one or two while there are fewer). Three samples together smooth the lumpiness of whole chunks on a slow link; the maximum over the
 * window (as BBR's bandwidth filter) keeps a briefly starved link from looking slower than it is; ten samples let
 * a link that really slowed down show it within about a second.
 *
 * <p>As in BBR, a sample taken while the link was not kept full (its queue well below its cap: the scheduler gave
 * it little) says only that the link carried at least that much: it may raise the estimate, never lower it, and it
 * never sets a first estimate. Otherwise a link that got few chunks early would measure slow, get fewer chunks
 * still, and never be measured again. Event loop only.
 */
final class RateEstimator {
    private static final int WINDOW = 10;
    private static final int SPAN = 3;

    private final long[] bytes = new long[WINDOW];
    private final long[] nanos = new long[WINDOW];
    private int next;
    private int filled;
    private long lastDelivered;
    private long lastNanos;
    private long estimate;

    /**
     * Takes a sample: {@code delivered} is cumulative; {@code saturated} says the link was kept full over the
     * interval, so the sample measures its capacity rather than what it was given.
     */
    void sample(long delivered, boolean saturated, long now) {
        if (lastNanos == 0) {
            lastNanos = now;
            lastDelivered = delivered;
            return;
        }
        long b = delivered - lastDelivered;
        long dt = now - lastNanos;
        lastDelivered = delivered;
        lastNanos = now;
        if (dt <= 0) {
            return;
        }
        if (!saturated && (estimate == 0 || b * 1e9 / dt <= estimate)) {
            return; // given too little to say anything about capacity
        }
        bytes[next] = b;
        nanos[next] = dt;
        next = (next + 1) % WINDOW;
        filled = Math.min(filled + 1, WINDOW);
        // Until three samples are in, the ones there are: a link's first estimate comes one interval after its
        // first report, not three. Before it, the link may only have its configured write buffer unreported, which
        // on a fast path with reports a heartbeat apart caps it well below its rate for the first few hundred
        // milliseconds. Three samples replace it as soon as they are in.
        int span = Math.min(SPAN, filled);
        long best = 0;
        for (int start = 0; start + span <= filled; start++) {
            long sumBytes = 0;
            long sumNanos = 0;
            for (int k = 0; k < span; k++) {
                int i = (next - 1 - start - k + 2 * WINDOW) % WINDOW;
                sumBytes += bytes[i];
                sumNanos += nanos[i];
            }
            best = Math.max(best, (long) (sumBytes * 1e9 / sumNanos));
        }
        estimate = best;
    }

    /** Forgets the samples and starts again from {@code bytesPerSecond} (the link was measured anew). */
    void restart(long bytesPerSecond) {
        filled = 0;
        next = 0;
        estimate = Math.max(1, bytesPerSecond);
    }

    /** Bytes per second, or 0 while unknown. */
    long bytesPerSecond() {
        return estimate;
    }
}
