package io.invmux.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.HealthState;
import io.invmux.HealthThresholds;
import io.invmux.Quality;
import io.invmux.testing.FakeConnection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** State transitions of the default health monitor, with its hysteresis. */
class DefaultHealthMonitorTest {
    private static final Quality GOOD = new Quality(Duration.ofMillis(10), Duration.ZERO, 1_000_000, 0, 0, 0.9);
    private static final Quality SLOW = new Quality(Duration.ofMillis(900), Duration.ZERO, 1_000_000, 0, 0, 0.5);
    private static final Quality BAD = new Quality(Duration.ofMillis(900), Duration.ZERO, 1_000_000, 0.3, 0, 0.05);
    private static final long IDLE = 0;

    private final HealthThresholds thresholds = HealthThresholds.defaults().withHysteresis(2, 3);
    private final DefaultHealthMonitor monitor = new DefaultHealthMonitor(thresholds);
    private final FakeConnection link = new FakeConnection("1");

    private HealthState run(HealthState from, Quality q, int checks) {
        HealthState s = from;
        for (int i = 0; i < checks; i++) {
            s = monitor.check(link, q, IDLE, s);
        }
        return s;
    }

    @Test
    void oneViolationDegradesAndSeveralMakeUnhealthy() {
        assertThat(monitor.verdict(GOOD, IDLE)).isEqualTo(HealthState.HEALTHY);
        assertThat(monitor.verdict(SLOW, IDLE)).isEqualTo(HealthState.DEGRADED);
        assertThat(monitor.verdict(BAD, IDLE)).isEqualTo(HealthState.UNHEALTHY);
        assertThat(monitor.verdict(GOOD, Duration.ofSeconds(2).toNanos())).isEqualTo(HealthState.UNHEALTHY);
    }

    @Test
    void aSingleBadCheckDoesNotChangeTheState() {
        HealthState s = monitor.check(link, BAD, IDLE, HealthState.HEALTHY);
        assertThat(s).isEqualTo(HealthState.HEALTHY);
        s = monitor.check(link, GOOD, IDLE, s);
        s = monitor.check(link, BAD, IDLE, s);
        assertThat(s).as("bad checks must be consecutive").isEqualTo(HealthState.HEALTHY);
    }

    @Test
    void consecutiveBadChecksWorsenTheState() {
        assertThat(run(HealthState.HEALTHY, BAD, 2)).isEqualTo(HealthState.UNHEALTHY);
        assertThat(run(HealthState.HEALTHY, SLOW, 2)).isEqualTo(HealthState.DEGRADED);
    }

    @Test
    void recoveryGoesThroughProbationAndTakesLongerThanFalling() {
        HealthState s = run(HealthState.UNHEALTHY, GOOD, 2);
        assertThat(s).isEqualTo(HealthState.UNHEALTHY);
        s = run(s, GOOD, 1);
        assertThat(s).isEqualTo(HealthState.PROBATION);
        assertThat(s.schedulable()).isTrue();
        s = run(s, GOOD, 3);
        assertThat(s).isEqualTo(HealthState.HEALTHY);
    }

    @Test
    void aLinkOnProbationFallsBackAtItsFirstBadCheck() {
        HealthState s = run(HealthState.UNHEALTHY, GOOD, 3);
        assertThat(s).isEqualTo(HealthState.PROBATION);
        assertThat(monitor.check(link, SLOW, IDLE, s)).isEqualTo(HealthState.UNHEALTHY);
    }

    @Test
    void deadStaysDead() {
        assertThat(run(HealthState.DEAD, GOOD, 20)).isEqualTo(HealthState.DEAD);
    }

    @Test
    void onlyHealthyDegradedAndProbationCarryData() {
        assertThat(HealthState.HEALTHY.schedulable()).isTrue();
        assertThat(HealthState.DEGRADED.schedulable()).isTrue();
        assertThat(HealthState.PROBATION.schedulable()).isTrue();
        assertThat(HealthState.UNHEALTHY.schedulable()).isFalse();
        assertThat(HealthState.DEAD.schedulable()).isFalse();
    }
}
