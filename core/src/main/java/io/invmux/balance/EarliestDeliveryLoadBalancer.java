package io.invmux.balance;

import io.invmux.Connection;
import io.invmux.LoadBalancer;
import java.util.ArrayList;
import java.util.List;

/**
 * Sends each chunk on the link that would deliver it first: {@code (queued + chunk) / rate + RTT / 2}, from the
 * link's measured delivery rate and smoothed round-trip time. Queues thus grow in proportion to rates, so chunks
 * of one stream arrive close to their order and a slow link only gets what it can deliver in time.
 *
 * <p>As in ECF/BLEST, it also looks at links that are full right now: when one of them would still deliver the
 * chunk sooner than the best free link by more than a margin ({@value #HOLD_MARGIN} of the free link's time),
 * it holds the chunk back (returns null) instead of sending it the slow way; the session asks again when a link
 * frees up. It never holds for a link that does not {@linkplain Connection#takesData take data} (suspected of
 * stalling, being removed): that link would not free up. Links with no rate measured yet are credited with the
 * mean of the measured ones, so they get probed.
 */
public final class EarliestDeliveryLoadBalancer implements LoadBalancer {
    /** How much sooner a full link must deliver before a chunk waits for it rather than take a free slow link. */
    static final double HOLD_MARGIN = 0.25;
    private static final double DEFAULT_RATE = 1_000_000; // bytes/s, until some link has a measured rate

    private final List<Connection> all = new ArrayList<>(); // event loop only

    @Override
    public Connection select(List<? extends Connection> connections, int streamId, int chunkLength) {
        double fallback = fallbackRate();
        Connection best = null;
        double bestTime = Double.MAX_VALUE;
        for (int i = 0; i < connections.size(); i++) {
            Connection c = connections.get(i);
            double t = deliveryTime(c, chunkLength, fallback);
            if (t < bestTime) {
                bestTime = t;
                best = c;
            }
        }
        int tier = best.priority();
        for (int i = 0; i < all.size(); i++) {
            Connection c = all.get(i);
            if (c.priority() != tier || !c.takesData() || !c.health().schedulable() || connections.contains(c)) {
                continue;
            }
            if (deliveryTime(c, chunkLength, fallback) * (1 + HOLD_MARGIN) < bestTime) {
                return null;
            }
        }
        return best;
    }

    /** Seconds until {@code c} would have delivered a chunk of {@code length} bytes sent now. */
    static double deliveryTime(Connection c, int length, double fallbackRate) {
        long bw = c.quality().bandwidth();
        double rate = bw > 0 ? bw : fallbackRate;
        double oneWay = c.quality().latency().toNanos() / 2e9;
        return (c.queuedBytes() + length) / rate + oneWay;
    }

    private double fallbackRate() {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < all.size(); i++) {
            long bw = all.get(i).quality().bandwidth();
            if (bw > 0) {
                sum += bw;
                n++;
            }
        }
        return n == 0 ? DEFAULT_RATE : sum / n;
    }

    @Override
    public void onConnectionAdded(Connection connection) {
        all.add(connection);
    }

    @Override
    public void onConnectionRemoved(Connection connection) {
        all.remove(connection);
    }
}
