package io.invmux.testing;

import io.invmux.Connection;
import io.invmux.HealthState;
import io.invmux.Quality;
import java.time.Duration;

/** A link with made-up measurements, for load balancer and health monitor tests. */
public final class FakeConnection implements Connection {
    private final String id;
    private Quality quality = Quality.UNKNOWN;
    private long queued;
    private int priority;
    private double weight = 1;
    private HealthState health = HealthState.HEALTHY;
    private boolean active = true;
    private boolean takesData = true;

    public FakeConnection(String id) {
        this.id = id;
    }

    /** A link delivering {@code mbps} megabits per second with {@code rttMs} round trips. */
    public static FakeConnection of(String id, double mbps, long rttMs) {
        return new FakeConnection(id).measured(mbps, rttMs);
    }

    public FakeConnection measured(double mbps, long rttMs) {
        quality = new Quality(Duration.ofMillis(rttMs), Duration.ZERO, (long) (mbps * 125_000), 0, 0, 1);
        return this;
    }

    public FakeConnection quality(Quality q) {
        quality = q;
        return this;
    }

    public FakeConnection queued(long bytes) {
        queued = bytes;
        return this;
    }

    public FakeConnection health(HealthState h) {
        health = h;
        return this;
    }

    public FakeConnection active(boolean a) {
        active = a;
        return this;
    }

    /** False: the link is suspected of stalling or being removed; the session gives it nothing. */
    public FakeConnection takesData(boolean t) {
        takesData = t;
        return this;
    }

    @Override
    public boolean takesData() {
        return active && takesData;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String type() {
        return "fake";
    }

    @Override
    public String remoteAddress() {
        return "fake:" + id;
    }

    @Override
    public Quality quality() {
        return quality;
    }

    @Override
    public int priority() {
        return priority;
    }

    @Override
    public void setPriority(int priority) {
        this.priority = priority;
    }

    @Override
    public double weight() {
        return weight;
    }

    @Override
    public void setWeight(double weight) {
        this.weight = weight;
    }

    @Override
    public boolean isActive() {
        return active;
    }

    @Override
    public HealthState health() {
        return health;
    }

    @Override
    public long queuedBytes() {
        return queued;
    }

    @Override
    public String toString() {
        return id;
    }
}
