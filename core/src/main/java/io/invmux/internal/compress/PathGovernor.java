package io.invmux.internal.compress;

import java.util.function.LongSupplier;

/**
 * Decides whether a session compresses at all: compression runs on the session's event loop, so on a fast path
 * it, not the network, can limit goodput.
 *
 * <p>Time is cut into epochs of {@link #EPOCH_NANOS}; an epoch longer than {@link #IDLE_EPOCHS} epochs (the
 * application paused) is dropped. Three measures per epoch: goodput (bytes offered per second), the share of the
 * loop thread's CPU time spent compressing ({@code busy}), and how much of the epoch the loop thread wanted a CPU
 * ({@code demand}: its CPU time plus its time waiting, runnable, for one; {@link CpuClock#demand}). Compression can
 * only limit goodput when the loop is saturated ({@code demand} at least {@link #SATURATED}) and compressing is a
 * good part of its work ({@code busy} above {@link #BUSY_SHARE}): on a path of a few tens of Mbit/s the loop idles
 * most of the time, so compression stays on without any trial.
 *
 * <p>While compressing, a saturated epoch with that much compression is followed by a trial epoch without; the
 * session stays without compression when that epoch carried {@link #OFF_GAIN} times the bytes (a path that the
 * network limits cannot do that: without compression it carries fewer stream bytes, not more, and a short epoch's
 * noise stays well below it). While not compressing, a trial epoch with compression turns it back on when the loop
 * was not saturated, compression was a small part of its work, or the epoch carried about as much as the best
 * recent goodput without compression (within {@link #GAIN}: a tie goes to compression, which saves the path's
 * bandwidth; where compression is what limits goodput it carries a fraction, not nearly as much). A trial that
 * confirms the current mode doubles the wait before the next one ({@link #FIRST_WAIT_NANOS} up to
 * {@link #MAX_WAIT_NANOS}); one that flips it resets the wait. Measuring demand rather than the wall clock keeps a
 * loop that a loaded machine starves (a tenth of a core, all of it compressing) from looking idle.
 *
 * <p>Confined to the session's event loop; {@link #compressing} and {@link #switches} are read by other threads.
 */
public final class PathGovernor {
    static final long EPOCH_NANOS = 50_000_000L;
    static final int IDLE_EPOCHS = 4;
    static final double BUSY_SHARE = 0.3;
    static final double GAIN = 1.1;
    static final double OFF_GAIN = 1.5;
    static final double SATURATED = 0.5;
    static final long FIRST_WAIT_NANOS = 2_000_000_000L;
    static final long MAX_WAIT_NANOS = 60_000_000_000L;

    private enum Mode { ON, TRIAL_OFF, OFF, TRIAL_ON }

    private final LongSupplier loopCpu;
    private final LongSupplier loopDemand;

    // [L] all of these
    private Mode mode = Mode.ON;
    private long epochStart = Long.MIN_VALUE;
    private long epochCpuStart;
    private long epochDemandStart;
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
        this(CpuClock::now, CpuClock::demand);
    }

    /**
     * With {@code loopCpu} giving the calling thread's CPU nanoseconds and {@code loopDemand} the time it wanted a
     * CPU (CPU plus waiting for one), e.g. a test's made-up clocks.
     */
    PathGovernor(LongSupplier loopCpu, LongSupplier loopDemand) {
        this.loopCpu = loopCpu;
        this.loopDemand = loopDemand;
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
        double demand = (double) (loopDemand.getAsLong() - epochDemandStart) / elapsed;
        double goodput = epochBytes * 1e9 / elapsed;
        double busy = cpu <= 0 ? 0 : (double) epochCompressNanos / cpu;
        boolean idle = elapsed > IDLE_EPOCHS * EPOCH_NANOS;
        startEpoch(now);
        if (idle) {
            return;
        }
        switch (mode) {
            case ON:
                onGoodput = goodput;
                if (busy > BUSY_SHARE && demand >= SATURATED && now - nextTrialNanos >= 0) {
                    set(Mode.TRIAL_OFF);
                }
                break;
            case TRIAL_OFF:
                offPeak = goodput;
                decide(now, goodput > onGoodput * OFF_GAIN ? Mode.OFF : Mode.ON, Mode.ON);
                break;
            case OFF:
                offPeak = Math.max(offPeak * 0.8, goodput); // a peak that fades within a second
                if (now - nextTrialNanos >= 0) {
                    set(Mode.TRIAL_ON);
                }
                break;
            case TRIAL_ON:
                onGoodput = goodput;
                boolean pays = busy <= BUSY_SHARE || demand < SATURATED || goodput * GAIN >= offPeak;
                decide(now, pays ? Mode.ON : Mode.OFF, Mode.OFF);
                break;
            default:
                throw new IllegalStateException(mode.name());
        }
    }

    private void startEpoch(long now) {
        epochStart = now;
        epochCpuStart = loopCpu.getAsLong();
        epochDemandStart = loopDemand.getAsLong();
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
