package io.invmux.internal.session;

/**
 * Delivery rate of a link, from the bytes its acknowledgements cover. Every check interval the link reports its
 * cumulative delivered bytes; the estimate is the best rate seen over any three consecutive samples within the
 * last ten, counting only samples during which the link had bytes in flight. Three samples together smooth the
 * lumpiness of whole chunks on a slow link; the maximum over the window (as BBR's bandwidth filter) keeps an
 * idle or briefly starved link from looking slower than it is; ten samples let a link that really slowed down
 * show it within about a second. Event loop only.
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

    /** Takes a sample: {@code delivered} is cumulative; {@code busy} says the link had bytes in flight. */
    void sample(long delivered, boolean busy, long now) {
        if (lastNanos == 0) {
            lastNanos = now;
            lastDelivered = delivered;
            return;
        }
        long b = delivered - lastDelivered;
        long dt = now - lastNanos;
        lastDelivered = delivered;
        lastNanos = now;
        if (dt <= 0 || (!busy && b == 0)) {
            return; // an idle interval says nothing about capacity
        }
        bytes[next] = b;
        nanos[next] = dt;
        next = (next + 1) % WINDOW;
        filled = Math.min(filled + 1, WINDOW);
        if (filled < SPAN) {
            return;
        }
        long best = 0;
        for (int start = 0; start + SPAN <= filled; start++) {
            long sumBytes = 0;
            long sumNanos = 0;
            for (int k = 0; k < SPAN; k++) {
                int i = (next - 1 - start - k + 2 * WINDOW) % WINDOW;
                sumBytes += bytes[i];
                sumNanos += nanos[i];
            }
            best = Math.max(best, (long) (sumBytes * 1e9 / sumNanos));
        }
        estimate = best;
    }

    /** Bytes per second, or 0 while unknown. */
    long bytesPerSecond() {
        return estimate;
    }
}
