package io.invmux.server.runtime;

import io.invmux.Connection;
import io.invmux.HealthState;
import io.invmux.Session;

/** Hears what happens to the sidecar's sessions and links. Called on event loops; must not block. */
public interface RuntimeListener {
    default void sessionStarted(Session session, String peer) {
    }

    default void sessionEnded(Session session, String peer, String reason) {
    }

    /** A link changed state; {@code from == DEAD} means it joined, {@code to == DEAD} that it was lost. */
    default void linkStateChanged(Session session, String peer, Connection link, HealthState from, HealthState to) {
    }

    /**
     * A stream carried for an application or a service ended, {@code durationNanos} after the sidecar opened it
     * ({@code opened}) or took it from the peer; {@code failed} when it was reset or its session ended under it.
     */
    default void streamEnded(Session session, String peer, boolean opened, long durationNanos, boolean failed) {
    }
}
