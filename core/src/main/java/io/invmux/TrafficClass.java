package io.invmux;

/**
 * How a stream's chunks are scheduled over the session's links. Chosen by the opener
 * ({@link Session#openStream(byte[], StreamOptions)}), carried in the stream's OPEN and visible at both ends
 * ({@link Stream#trafficClass()}).
 */
public enum TrafficClass {
    /**
     * Throughput first (the default): chunks go where the session's {@link LoadBalancer} puts them, spread over all
     * links, each link kept full but not over its in-flight cap.
     */
    BULK(0),
    /**
     * Delay first: the stream's chunks are sent ahead of every bulk chunk waiting to be sent, each on the link
     * expected to deliver it first (its queued bytes at its measured rate, plus half its round trip), and never
     * wait for a link with room: a full link that still delivers first is used.
     */
    INTERACTIVE(1),
    /**
     * As {@link #INTERACTIVE}, and each chunk also goes out on the link expected to deliver it second: the first copy
     * to arrive is used and the other dropped, so one link turning bad costs nothing. Twice the bytes: meant for
     * small, latency-critical streams.
     */
    REDUNDANT(2);

    private final int wireValue;

    TrafficClass(int wireValue) {
        this.wireValue = wireValue;
    }

    /** The class's number in an OPEN frame's flags (docs/PROTOCOL.md). */
    public int wireValue() {
        return wireValue;
    }

    /** The class numbered {@code wireValue}, or null when no class has that number. */
    public static TrafficClass ofWireValue(int wireValue) {
        for (TrafficClass c : values()) {
            if (c.wireValue == wireValue) {
                return c;
            }
        }
        return null;
    }
}
