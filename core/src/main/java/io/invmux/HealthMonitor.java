package io.invmux;

import io.invmux.health.DefaultHealthMonitor;

/**
 * Judges the links of one session. The session calls {@link #check} for every link every
 * {@link HealthThresholds#checkInterval()} on its event loop, with the link's latest quality, and acts on the
 * answer: links that are not {@link HealthState#schedulable()} get no new chunks; state changes go to the
 * session's {@link HealthListener}s. Each session gets its own monitor from {@link Config#healthMonitor()}.
 */
public interface HealthMonitor {
    /** The thresholds, including how often to check. */
    HealthThresholds thresholds();

    /**
     * The link's state now.
     *
     * @param idleNanos time since the link last received anything
     * @param current the state the link is in
     */
    HealthState check(Connection connection, Quality quality, long idleNanos, HealthState current);

    /** The link is gone; forget it. */
    default void onConnectionRemoved(Connection connection) {
    }

    /** A monitor with the default hysteresis policy and the given thresholds. */
    static HealthMonitor withThresholds(HealthThresholds thresholds) {
        return new DefaultHealthMonitor(thresholds);
    }
}
