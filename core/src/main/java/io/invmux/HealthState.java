package io.invmux;

/** How a link is doing, as judged by the session's {@link HealthMonitor}. */
public enum HealthState {
    /** Within every threshold. Carries data. */
    HEALTHY,
    /** One threshold crossed. Still carries data; the load balancer sees its worse quality. */
    DEGRADED,
    /** Several thresholds crossed, or a severe one. Taken out of scheduling (unless no other link is left). */
    UNHEALTHY,
    /** Was unhealthy and looks good again: carries data, and falls back to unhealthy at the first violation. */
    PROBATION,
    /** Lost: closed, reset or silent past the keep-alive timeout. */
    DEAD;

    /** Whether the scheduler gives this link chunks when a better one is available. */
    public boolean schedulable() {
        return this == HEALTHY || this == DEGRADED || this == PROBATION;
    }
}
