package io.invmux.internal.compress;

/**
 * Decides whether a session compresses at all, from goodput measured in both modes: compression runs on the
 * session's event loop, so on a fast path it, not the network, can limit goodput.
 *
 * <p>Time is cut into epochs of {@link #EPOCH_NANOS}. While compressing, an epoch in which the loop spent more
 * than {@link #BUSY_SHARE} of its time compressing is followed by a trial epoch without compression; the session
 * stays without it when that epoch carried {@link #GAIN} times the bytes. While not compressing, a trial epoch
 * with compression turns it back on when that epoch carried at least 1 / {@link #GAIN} of the bytes (a tie goes
 * to compression: it saves the path's bandwidth). A trial that confirms the current mode doubles the wait before
 * the next one ({@link #FIRST_WAIT_NANOS} up to {@link #MAX_WAIT_NANOS}); one that flips it resets the wait. On a
 * path of a few tens of Mbit/s the loop is nowhere near busy with compression, so no trial ever runs.
 *
 * <p>Confined to the session's event loop; {@link #compressing} and {@link #switches} are read by other threads.
 */
public final class PathGovernor {
    static final long EPOCH_NANOS = 50_000_000L;
    static final double BUSY_SHARE = 0.3;
    static final double GAIN = 1.1;
    static final long FIRST_WAIT_NANOS = 2_000_000_000L;
    static final long MAX_WAIT_NANOS = 60_000_000_000L;

    private enum Mode { ON, TRIAL_OFF, OFF, TRIAL_ON }

    // [L] all of these
    private Mode mode = Mode.ON;
    private long epochStart = Long.MIN_VALUE;
    private long epochBytes;
    private long epochCpuNanos;
    private double lastGoodput; // bytes/s of the last full epoch of the mode before the trial
    private long nextTrialNanos;
    private long waitNanos = FIRST_WAIT_NANOS;

    // written by the loop, read by any thread
    private volatile boolean compressing = true;
    private volatile long switches;

    /** [L] Whether the next chunk should be compressed. */
    public boolean compressing() {
        return compressing;
    }

    /** Mode changes so far (any thread). */
    public long switches() {
        return switches;
    }

    /** [L] A chunk of {@code rawBytes} went out at {@code now}, after {@code cpuNanos} of compression. */
    public void record(long now, int rawBytes, long cpuNanos) {
        if (epochStart == Long.MIN_VALUE) {
            epochStart = now;
            nextTrialNanos = now; // the first busy epoch may start a trial
        }
        epochBytes += rawBytes;
        epochCpuNanos += cpuNanos;
        long elapsed = now - epochStart;
        if (elapsed < EPOCH_NANOS) {
            return;
        }
        double goodput = epochBytes * 1e9 / elapsed;
        double busy = (double) epochCpuNanos / elapsed;
        epochStart = now;
        epochBytes = 0;
        epochCpuNanos = 0;
        switch (mode) {
            case ON:
                lastGoodput = goodput;
                if (busy > BUSY_SHARE && now - nextTrialNanos >= 0) {
                    set(Mode.TRIAL_OFF);
                }
                break;
            case TRIAL_OFF:
                decide(now, goodput > lastGoodput * GAIN ? Mode.OFF : Mode.ON, Mode.ON);
                lastGoodput = goodput;
                break;
            case OFF:
                lastGoodput = goodput;
                if (now - nextTrialNanos >= 0) {
                    set(Mode.TRIAL_ON);
                }
                break;
            case TRIAL_ON:
                decide(now, goodput * GAIN >= lastGoodput ? Mode.ON : Mode.OFF, Mode.OFF);
                lastGoodput = goodput;
                break;
            default:
                throw new IllegalStateException(mode.name());
        }
    }

    private void decide(long now, Mode next, Mode before) {
        if (next == before) {
            waitNanos = Math.min(MAX_WAIT_NANOS, waitNanos * 2);
        } else {
            waitNanos = FIRST_WAIT_NANOS;
            switches++;
        }
        nextTrialNanos = now + waitNanos;
        set(next);
    }

    private void set(Mode next) {
        mode = next;
        compressing = next == Mode.ON || next == Mode.TRIAL_ON;
    }
}
