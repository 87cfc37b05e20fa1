package io.invmux;

import java.time.Duration;

/**
 * Limits that separate a healthy link from a degraded or unhealthy one.
 *
 * @param maxLatency smoothed round-trip time above this is a violation (default 500 ms)
 * @param minBandwidth measured delivery rate below this, in bytes per second, is a violation once the rate is
 *     known (default 0: off)
 * @param maxPacketLoss heartbeat loss above this fraction is a violation (default 0.2)
 * @param maxErrorRate fraction of chunks re-sent from this link above this is a violation (default 0.2)
 * @param minScore {@link Quality#score()} below this is a violation (default 0.1)
 * @param maxIdleTime nothing received for this long is a violation (default 500 ms); the keep-alive timeout
 *     later declares the link dead
 * @param checkInterval how often links are checked (default 100 ms)
 * @param checksToWorsen consecutive bad checks before the state worsens (default 2)
 * @param checksToRecover consecutive good checks before the state improves one step (default 10)
 */
public record HealthThresholds(Duration maxLatency, long minBandwidth, double maxPacketLoss, double maxErrorRate,
        double minScore, Duration maxIdleTime, Duration checkInterval, int checksToWorsen, int checksToRecover) {

    public HealthThresholds {
        requirePositive("maxLatency", maxLatency);
        requirePositive("maxIdleTime", maxIdleTime);
        requirePositive("checkInterval", checkInterval);
        if (minBandwidth < 0) {
            throw new IllegalArgumentException("minBandwidth must be 0 (off) or positive bytes/s, got " + minBandwidth);
        }
        requireFraction("maxPacketLoss", maxPacketLoss);
        requireFraction("maxErrorRate", maxErrorRate);
        requireFraction("minScore", minScore);
        if (checksToWorsen < 1 || checksToWorsen > 1000) {
            throw new IllegalArgumentException("checksToWorsen must be between 1 and 1000, got " + checksToWorsen);
        }
        if (checksToRecover < 1 || checksToRecover > 1000) {
            throw new IllegalArgumentException("checksToRecover must be between 1 and 1000, got " + checksToRecover);
        }
    }

    public static HealthThresholds defaults() {
        return new HealthThresholds(Duration.ofMillis(500), 0, 0.2, 0.2, 0.1, Duration.ofMillis(500),
                Duration.ofMillis(100), 2, 10);
    }

    public HealthThresholds withMaxLatency(Duration d) {
        return new HealthThresholds(d, minBandwidth, maxPacketLoss, maxErrorRate, minScore, maxIdleTime,
                checkInterval, checksToWorsen, checksToRecover);
    }

    public HealthThresholds withMinBandwidth(long bytesPerSecond) {
        return new HealthThresholds(maxLatency, bytesPerSecond, maxPacketLoss, maxErrorRate, minScore, maxIdleTime,
                checkInterval, checksToWorsen, checksToRecover);
    }

    public HealthThresholds withMaxPacketLoss(double fraction) {
        return new HealthThresholds(maxLatency, minBandwidth, fraction, maxErrorRate, minScore, maxIdleTime,
                checkInterval, checksToWorsen, checksToRecover);
    }

    public HealthThresholds withMaxErrorRate(double fraction) {
        return new HealthThresholds(maxLatency, minBandwidth, maxPacketLoss, fraction, minScore, maxIdleTime,
                checkInterval, checksToWorsen, checksToRecover);
    }

    public HealthThresholds withMinScore(double score) {
        return new HealthThresholds(maxLatency, minBandwidth, maxPacketLoss, maxErrorRate, score, maxIdleTime,
                checkInterval, checksToWorsen, checksToRecover);
    }

    public HealthThresholds withMaxIdleTime(Duration d) {
        return new HealthThresholds(maxLatency, minBandwidth, maxPacketLoss, maxErrorRate, minScore, d,
                checkInterval, checksToWorsen, checksToRecover);
    }

    public HealthThresholds withCheckInterval(Duration d) {
        return new HealthThresholds(maxLatency, minBandwidth, maxPacketLoss, maxErrorRate, minScore, maxIdleTime, d,
                checksToWorsen, checksToRecover);
    }

    public HealthThresholds withHysteresis(int toWorsen, int toRecover) {
        return new HealthThresholds(maxLatency, minBandwidth, maxPacketLoss, maxErrorRate, minScore, maxIdleTime,
                checkInterval, toWorsen, toRecover);
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
        }
    }

    private static void requireFraction(String name, double v) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(name + " must be between 0 and 1, got " + v);
        }
    }
}
