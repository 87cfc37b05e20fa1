package io.invmux.balance;

import io.invmux.Connection;
import io.invmux.LoadBalancer;
import java.util.List;

/** Takes the links in turn, chunk by chunk. Fair for equal links; blind to their quality. */
public final class RoundRobinLoadBalancer implements LoadBalancer {
    private int next; // event loop only

    @Override
    public Connection select(List<? extends Connection> connections, int streamId, int chunkLength) {
        if (next >= connections.size()) {
            next = 0;
        }
        return connections.get(next++);
    }
}
