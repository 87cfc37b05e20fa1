package io.invmux;

/** One link of a session's bundle (a TCP connection, an in-memory pipe, ...). */
public interface Connection {
    /** Id of the link within its session. */
    String id();

    /** Transport name, as in the URI scheme ("tcp", "mem"). */
    String type();

    /** Remote address: {@code host:port} ({@code [v6]:port}) for IP links, else as the transport names it. */
    String remoteAddress();

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

    /** True while the link carries the session's frames. */
    boolean isActive();

    /** Current judgement of the session's {@link HealthMonitor}. */
    HealthState health();

    /** Stream bytes sent on this link and not yet acknowledged: its queue, as the scheduler sees it. */
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
