package io.invmux;

/** One link of a session's bundle (a TCP connection, an in-memory pipe, ...). */
public interface Connection {
    /** Id of the link within its session. */
    String id();

    /** Transport name, as in the URI scheme ("tcp", "mem"). */
    String type();

    /** Remote address as the transport names it. */
    String remoteAddress();

    /** Latest measured quality. */
    Quality quality();

    /** Scheduling tier: higher carries data first; lower tiers are backups. Default 0. */
    int priority();

    /** Changes the tier; takes effect for the next chunk scheduled. */
    void setPriority(int priority);

    /** True while the link carries the session's frames. */
    boolean isActive();
}
