package io.invmux;

import java.util.List;

/**
 * Picks the link each chunk travels on. Called on the session's event loop only, so implementations need no
 * locking; must be fast and must not block.
 */
public interface LoadBalancer {
    /**
     * Chooses a link for the next chunk.
     *
     * @param connections links that can take a chunk now; never empty; do not keep or modify the list
     * @param streamId the stream the chunk belongs to
     * @param chunkLength the chunk's length in bytes
     * @return one element of {@code connections}
     */
    Connection select(List<? extends Connection> connections, int streamId, int chunkLength);

    default void onConnectionAdded(Connection connection) {
    }

    default void onConnectionRemoved(Connection connection) {
    }

    /** A new quality measurement for a link. */
    default void updateStats(Connection connection, Quality quality) {
    }
}
