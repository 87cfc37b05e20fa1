package io.invmux;

/**
 * Hears a session's measurements as it takes them, for histograms that a snapshot of {@link SessionStats} cannot
 * give (a smoothed RTT hides its spread; a failover is over before the next scrape). Called on the session's event
 * loop; must not block.
 */
public interface MeasurementListener {
    /** A heartbeat on {@code link} came back after {@code rttNanos}: one round-trip sample, unsmoothed. */
    default void onRoundTrip(Connection link, long rttNanos) {
    }

    /**
     * Every chunk that was in flight on {@code lost} when it was lost, or suspected of stalling (the session then
     * re-sends its chunks at once and gives it no new ones), has been acknowledged by the peer after being sent
     * again on other links (or its stream ended first): {@code gapNanos} after the loss or suspicion. A chunk
     * counts once, in the first failover that moved it. Not called when nothing was in flight, nor when the
     * session ends first.
     *
     * @param chunks how many chunks were in flight on the link
     */
    default void onFailover(Connection lost, long gapNanos, int chunks) {
    }
}
