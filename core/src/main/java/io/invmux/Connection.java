package io.invmux;

/** One link of a session's bundle (a TCP connection, an in-memory pipe, ...). */
public interface Connection {
    /** Id of the link within its session. */
    String id();

    /** Transport name, as in the URI scheme ("tcp", "mem"). */
    String type();

    /** Remote address: {@code host:port} ({@code [v6]:port}) for IP links, else as the transport names it. */
    String remoteAddress();

    /**
     * Local address of the link, written as {@link #remoteAddress()} is: on the accepting side, the listener address
     * the peer reached, which names the path where the remote port does not (it is new on every redial).
     */
    default String localAddress() {
        return "";
    }

    /** Latest measured quality. */
    Quality quality();

    /**
     * Scheduling tier: chunks go to the links of the highest tier that can take them; a lower tier (a backup)
     * carries data only while no link of a higher tier is healthy or all of them are full. Default 0.
     */
    int priority();

    /** Changes the tier; takes effect for the next chunk scheduled. */
    void setPriority(int priority);

    /** Relative weight for weighted balancing, multiplied by the measured rate. Default 1. */
    double weight();

    /** Changes the weight (a positive number); takes effect for the next chunk scheduled. */
    void setWeight(double weight);

    /** The link's budget, if it has one (see {@link LinkBudget}). */
    default java.util.Optional<LinkBudget> budget() {
        return java.util.Optional.empty();
    }

    /**
     * Caps the stream bytes sent on this link in a rolling window (null: no cap); a redial of the link keeps it.
     * Takes effect for the next chunk scheduled.
     *
     * @throws UnsupportedOperationException if this kind of link cannot be capped
     */
    default void setBudget(LinkBudget budget) {
        throw new UnsupportedOperationException("link " + id() + " (" + type() + ") takes no budget");
    }

    /** True while the link carries the session's frames. */
    boolean isActive();

    /** Current judgement of the session's {@link HealthMonitor}. */
    HealthState health();

    /**
     * Stream bytes sent on this link that have not reached the peer yet, as the peer's reports on the link and its
     * measured rate tell: its queue, as the scheduler sees it. Bytes that arrived but wait for their stream's
     * acknowledgement (behind slower links' chunks) are not in it.
     */
    long queuedBytes();

    /**
     * Whether the session gives this link new chunks at all: it is active, not being removed, and not suspected of
     * stalling (its chunks stopped getting through and were re-sent elsewhere). A link that is merely full still
     * takes data: it has room again soon. A balancer that holds a chunk back for a busy link holds it only for a
     * link that takes data.
     */
    default boolean takesData() {
        return isActive();
    }
}
