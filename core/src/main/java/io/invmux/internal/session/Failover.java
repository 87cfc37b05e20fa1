package io.invmux.internal.session;

/**
 * One failover of a link, when it is lost or suspected of stalling (its chunks are then re-sent at once): the
 * chunks that were in flight on it, counted down as each is acknowledged after its re-send (or dropped with its
 * stream). When the last one is, the session hears how long the failover took: from the loss or suspicion to the
 * moment the peer had everything the link was carrying. A chunk counts in the first failover that moved it.
 * Event loop only.
 */
final class Failover {
    private final MuxSession session;
    private final Link lost;
    private final long lostNanos;
    // [L]
    private int chunks;
    private int remaining;
    private boolean reported;

    Failover(MuxSession session, Link lost, long lostNanos) {
        this.session = session;
        this.lost = lost;
        this.lostNanos = lostNanos;
    }

    /** [L] One more chunk was in flight on the lost link. */
    void add() {
        chunks++;
        remaining++;
    }

    /** [L] One of them is acknowledged (or its stream is gone). */
    void done(long nowNanos) {
        if (--remaining == 0 && !reported) {
            reported = true;
            session.onFailover(lost, nowNanos - lostNanos, chunks);
        }
    }
}
