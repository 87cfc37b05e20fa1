package io.invmux.health;

import io.invmux.Connection;
import io.invmux.HealthMonitor;
import io.invmux.HealthState;
import io.invmux.HealthThresholds;
import io.invmux.Quality;
import java.util.HashMap;
import java.util.Map;

/**
 * The default policy. Each check counts the thresholds a link violates: none is good, one makes it
 * {@link HealthState#DEGRADED}, two or more (or heartbeat loss or idleness above twice their limit) make it
 * {@link HealthState#UNHEALTHY}. Hysteresis: a state worsens only after {@code checksToWorsen} consecutive checks
 * that call for it, and improves one step (UNHEALTHY → PROBATION → HEALTHY, DEGRADED → HEALTHY) only after
 * {@code checksToRecover} consecutive good checks; a link on probation falls back to UNHEALTHY at its first bad
 * check. So a link that flickers around a threshold does not flip state at every check.
 *
 * <p>Event loop of its session only.
 */
public final class DefaultHealthMonitor implements HealthMonitor {
    private final HealthThresholds t;
    private final Map<Connection, Counters> counters = new HashMap<>();

    private static final class Counters {
        int bad;
        int good;
    }

    public DefaultHealthMonitor(HealthThresholds thresholds) {
        this.t = thresholds;
    }

    @Override
    public HealthThresholds thresholds() {
        return t;
    }

    /** How bad the link looks in this one check, without hysteresis. */
    public HealthState verdict(Quality q, long idleNanos) {
        int violations = 0;
        boolean severe = false;
        if (q.latency().compareTo(t.maxLatency()) > 0) {
            violations++;
        }
        if (t.minBandwidth() > 0 && q.bandwidth() > 0 && q.bandwidth() < t.minBandwidth()) {
            violations++;
        }
        if (q.packetLoss() > t.maxPacketLoss()) {
            violations++;
            severe |= q.packetLoss() > 2 * t.maxPacketLoss();
        }
        if (q.errorRate() > t.maxErrorRate()) {
            violations++;
        }
        if (q.score() < t.minScore()) {
            violations++;
        }
        long maxIdle = t.maxIdleTime().toNanos();
        if (idleNanos > maxIdle) {
            violations++;
            severe |= idleNanos > 2 * maxIdle;
        }
        if (severe || violations >= 2) {
            return HealthState.UNHEALTHY;
        }
        return violations == 1 ? HealthState.DEGRADED : HealthState.HEALTHY;
    }

    @Override
    public HealthState check(Connection connection, Quality quality, long idleNanos, HealthState current) {
        if (current == HealthState.DEAD) {
            return current;
        }
        Counters c = counters.computeIfAbsent(connection, k -> new Counters());
        HealthState verdict = verdict(quality, idleNanos);
        if (rank(verdict) > rank(current) || (current == HealthState.PROBATION && verdict != HealthState.HEALTHY)) {
            c.good = 0;
            if (current == HealthState.PROBATION) {
                c.bad = 0;
                return HealthState.UNHEALTHY;
            }
            if (++c.bad >= t.checksToWorsen()) {
                c.bad = 0;
                return verdict;
            }
            return current;
        }
        c.bad = 0;
        if (rank(verdict) < rank(current)) {
            if (++c.good >= t.checksToRecover()) {
                c.good = 0;
                return current == HealthState.UNHEALTHY ? HealthState.PROBATION : HealthState.HEALTHY;
            }
        } else {
            c.good = 0;
        }
        return current;
    }

    private static int rank(HealthState s) {
        switch (s) {
            case HEALTHY: return 0;
            case PROBATION: return 1;
            case DEGRADED: return 1;
            case UNHEALTHY: return 2;
            default: return 3;
        }
    }

    @Override
    public void onConnectionRemoved(Connection connection) {
        counters.remove(connection);
    }
}
