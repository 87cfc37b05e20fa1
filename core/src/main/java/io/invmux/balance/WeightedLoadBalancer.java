package io.invmux.balance;

import io.invmux.Connection;
import io.invmux.LoadBalancer;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Smooth weighted round-robin (as nginx does it) over {@code configured weight × measured rate}: over any stretch
 * of chunks, each link gets a share proportional to its effective weight, interleaved rather than in bursts. Links
 * whose rate is not measured yet count with the mean rate of the others (or 1 when none is known).
 */
public final class WeightedLoadBalancer implements LoadBalancer {
    private final Map<Connection, double[]> current = new IdentityHashMap<>(); // event loop only

    @Override
    public Connection select(List<? extends Connection> connections, int streamId, int chunkLength) {
        double known = 0;
        int knownCount = 0;
        for (int i = 0; i < connections.size(); i++) {
            long bw = connections.get(i).quality().bandwidth();
            if (bw > 0) {
                known += bw;
                knownCount++;
            }
        }
        double fallbackRate = knownCount == 0 ? 1 : known / knownCount;
        double total = 0;
        Connection best = null;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < connections.size(); i++) {
            Connection c = connections.get(i);
            long bw = c.quality().bandwidth();
            double w = c.weight() * (bw > 0 ? bw : fallbackRate);
            double[] cur = current.computeIfAbsent(c, k -> new double[1]);
            cur[0] += w;
            total += w;
            if (cur[0] > bestValue) {
                bestValue = cur[0];
                best = c;
            }
        }
        current.get(best)[0] -= total;
        return best;
    }

    @Override
    public void onConnectionRemoved(Connection connection) {
        current.remove(connection);
    }
}
