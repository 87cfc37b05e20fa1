package io.invmux.balance;

import io.invmux.Connection;
import io.invmux.LoadBalancer;
import java.util.List;

/**
 * Sends every chunk on the link with the lowest smoothed round-trip time (ties: the least queued). Good for small
 * interactive traffic; a bulk transfer only spills onto other links once that link is full.
 */
public final class LowestLatencyLoadBalancer implements LoadBalancer {
    @Override
    public Connection select(List<? extends Connection> connections, int streamId, int chunkLength) {
        Connection best = connections.get(0);
        long bestRtt = rtt(best);
        for (int i = 1; i < connections.size(); i++) {
            Connection c = connections.get(i);
            long rtt = rtt(c);
            if (rtt < bestRtt || (rtt == bestRtt && c.queuedBytes() < best.queuedBytes())) {
                best = c;
                bestRtt = rtt;
            }
        }
        return best;
    }

    private static long rtt(Connection c) {
        long nanos = c.quality().latency().toNanos();
        return nanos == 0 ? Long.MAX_VALUE : nanos; // unmeasured links last
    }
}
