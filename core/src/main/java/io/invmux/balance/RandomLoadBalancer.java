package io.invmux.balance;

import io.invmux.Connection;
import io.invmux.LoadBalancer;
import java.util.List;
import java.util.SplittableRandom;

/** Picks a link uniformly at random for every chunk. */
public final class RandomLoadBalancer implements LoadBalancer {
    private final SplittableRandom random; // event loop only

    public RandomLoadBalancer() {
        this(new SplittableRandom());
    }

    /** With a seeded generator, for reproducible tests. */
    public RandomLoadBalancer(SplittableRandom random) {
        this.random = random;
    }

    @Override
    public Connection select(List<? extends Connection> connections, int streamId, int chunkLength) {
        return connections.get(random.nextInt(connections.size()));
    }
}
