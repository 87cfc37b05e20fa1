package io.invmux;

import java.util.List;

/**
 * Picks the link each chunk travels on. Called on the session's event loop only, so implementations need no
 * locking; must be fast and must not block. One instance per session ({@link Config#loadBalancer()} makes them).
 *
 * <p>Built in: {@link #earliestDelivery()} (the default), {@link #roundRobin()}, {@link #weighted()},
 * {@link #random()}, {@link #lowestLatency()}.
 */
public interface LoadBalancer {
    /**
     * Chooses a link for the next chunk.
     *
     * @param connections links that can take a chunk now, all of the same priority tier; never empty; do not keep
     *     or modify the list
     * @param streamId the stream the chunk belongs to
     * @param chunkLength the chunk's length in bytes
     * @return one element of {@code connections}, or null to hold the chunk back because a link that is full
     *     right now would still deliver it sooner (the session asks again when a link frees up)
     */
    Connection select(List<? extends Connection> connections, int streamId, int chunkLength);

    static LoadBalancer earliestDelivery() {
        return new io.invmux.balance.EarliestDeliveryLoadBalancer();
    }

    static LoadBalancer roundRobin() {
        return new io.invmux.balance.RoundRobinLoadBalancer();
    }

    static LoadBalancer weighted() {
        return new io.invmux.balance.WeightedLoadBalancer();
    }

    static LoadBalancer random() {
        return new io.invmux.balance.RandomLoadBalancer();
    }

    static LoadBalancer lowestLatency() {
        return new io.invmux.balance.LowestLatencyLoadBalancer();
    }

    default void onConnectionAdded(Connection connection) {
    }

    default void onConnectionRemoved(Connection connection) {
    }

    /** A new quality measurement for a link. */
    default void updateStats(Connection connection, Quality quality) {
    }
}
