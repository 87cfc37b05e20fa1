package io.invmux;

import java.util.Objects;

/**
 * How a new stream is sent: its {@link TrafficClass}. Immutable.
 *
 * @param trafficClass how the stream's chunks are scheduled over the links
 */
public record StreamOptions(TrafficClass trafficClass) {
    private static final StreamOptions DEFAULTS = new StreamOptions(TrafficClass.BULK);

    public StreamOptions {
        Objects.requireNonNull(trafficClass, "trafficClass");
    }

    /** A {@link TrafficClass#BULK} stream. */
    public static StreamOptions defaults() {
        return DEFAULTS;
    }

    /** A stream of the given class. */
    public static StreamOptions of(TrafficClass trafficClass) {
        return new StreamOptions(trafficClass);
    }
}
