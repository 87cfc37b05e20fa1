package io.invmux.internal.compress;

import java.util.function.LongSupplier;

/**
 * Decides whether a session compresses at all: compression runs on the session's event loop, so on a fast path
 * it, not the network, can limit goodput.
 *
 * <p>Time is cut into epochs of {@link #EPOCH_NANOS}; an epoch longer than {@link #IDLE_EPOCHS} epochs (the
 * application paused) is dropped. Two measures per epoch: goodput (bytes offered per second) and the share of the
 * loop thread's own CPU time spent compressing. While compressing, an epoch in which compression took more than
 * {@link #BUSY_SHARE} of the loop's CPU is followed by a trial epoch without compression; the session stays without
 * it when that epoch carried {@link #GAIN} times the bytes. While not compressing, a trial epoch with compression
 * turns it back on when compression took at most {@link #BUSY_SHARE} of the loop's CPU (it cannot be what limits
 * goodput), when the epoch carried {@link #GAIN} times the best recent goodput without it, or when it carried about
 * as much (within {@link #GAIN}) while the loop thread was busy less than {@link #IDLE_LOOP} of the time (the path,
 * not the loop, is the limit: compression then saves its bandwidth for free). A trial that confirms the
 * current mode doubles the wait before the next one ({@link #FIRST_WAIT_NANOS} up to {@link #MAX_WAIT_NANOS}); one
 * that flips it resets the wait. The share of the loop's CPU, not of the wall clock, is what counts: on a loaded
 * machine a loop that gets a tenth of a core is still limited by what it spends that tenth on.
 *
 * <p>Confined to the session's event loop; {@link #compressing} and {@link #switches} are read by other threads.
 */
public final class PathGovernor {
    static final long EPOCH_NANOS = 50_000_000L;
    static final int IDLE_EPOCHS = 4;
    static final double BUSY_SHARE = 0.3;
    static final double GAIN = 1.1;
    static final double IDLE_LOOP = 0.5;
    static final long FIRST_WAIT_NANOS = 2_000_000_000L;
    static final long MAX_WAIT_NANOS = 60_000_000_000L;

    private enum Mode { ON, TRIAL_OFF, OFF, TRIAL_ON }

    private final LongSupplier loopCpu;

    // [L] all of these
    private Mode mode = Mode.ON;
    private long epochStart = Long.MIN_VALUE;
    private long epochCpuStart;
    private long epochBytes;
    private long epochCompressNanos;
    private double onGoodput; // bytes/s of the last epoch with compression
    private double offPeak; // best recent bytes/s without compression, decaying
    private long nextTrialNanos;
    private long waitNanos = FIRST_WAIT_NANOS;

    // written by the loop, read by any thread
    private volatile boolean compressing = true;
    private volatile long switches;

    public PathGovernor() {
        this(CpuClock::now);
    }

    /** With {@code loopCpu} giving the calling thread's CPU nanoseconds (a test's made-up clock). */
    PathGovernor(LongSupplier loopCpu) {
        this.loopCpu = loopCpu;
    }

    /** [L] Whether the next chunk should be compressed. */
    public boolean compressing() {
        return compressing;
    }

    /** Mode changes so far (any thread). */
    public long switches() {
        return switches;
    }

    /** [L] A chunk of {@code rawBytes} went out at {@code now}, after {@code compressNanos} of compression. */
    public void record(long now, int rawBytes, long compressNanos) {
        if (epochStart == Long.MIN_VALUE) {
            startEpoch(now);
            nextTrialNanos = now; // the first busy epoch may start a trial
        }
        epochBytes += rawBytes;
        epochCompressNanos += compressNanos;
        long elapsed = now - epochStart;
        if (elapsed < EPOCH_NANOS) {
            return;
        }
        long cpu = loopCpu.getAsLong() - epochCpuStart;
        double goodput = epochBytes * 1e9 / elapsed;
        double busy = cpu <= 0 ? 0 : (double) epochCompressNanos / cpu;
        double loopUse = (double) cpu / elapsed;
        boolean idle = elapsed > IDLE_EPOCHS * EPOCH_NANOS;
        startEpoch(now);
        if (idle) {
            return;
        }
        switch (mode) {
            case ON:
                onGoodput = goodput;
                if (busy > BUSY_SHARE && now - nextTrialNanos >= 0) {
                    set(Mode.TRIAL_OFF);
                }
                break;
            case TRIAL_OFF:
                offPeak = goodput;
                decide(now, goodput > onGoodput * GAIN ? Mode.OFF : Mode.ON, Mode.ON);
                break;
            case OFF:
                offPeak = Math.max(offPeak * 0.8, goodput); // a peak that fades within a second
                if (now - nextTrialNanos >= 0) {
                    set(Mode.TRIAL_ON);
                }
                break;
            case TRIAL_ON:
                onGoodput = goodput;
                boolean pays = busy <= BUSY_SHARE || goodput > offPeak * GAIN
                        || (goodput * GAIN >= offPeak && loopUse < IDLE_LOOP);
                decide(now, pays ? Mode.ON : Mode.OFF, Mode.OFF);
                break;
            default:
                throw new IllegalStateException(mode.name());
        }
    }

    private void startEpoch(long now) {
        epochStart = now;
        epochCpuStart = loopCpu.getAsLong();
        epochBytes = 0;
        epochCompressNanos = 0;
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
