package io.invmux;

import java.time.Duration;

/**
 * Measured quality of a link.
 *
 * @param latency smoothed round-trip time of heartbeats (zero until the first answer)
 * @param latencyVariance smoothed mean deviation of the round-trip time
 * @param bandwidth estimated delivery rate, bytes per second (0 when unknown)
 * @param packetLoss fraction of heartbeats and chunks lost, 0 to 1
 * @param errorRate fraction of frames that failed, 0 to 1
 * @param score overall fitness, 0 (useless) to 1 (perfect)
 */
public record Quality(Duration latency, Duration latencyVariance, long bandwidth, double packetLoss,
        double errorRate, double score) {
    public static final Quality UNKNOWN = new Quality(Duration.ZERO, Duration.ZERO, 0, 0, 0, 1);
}
