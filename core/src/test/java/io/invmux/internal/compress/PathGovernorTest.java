package io.invmux.internal.compress;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The session-wide decision, driven by made-up clocks: chunks at a goodput, the loop thread using a share of the
 * wall clock, compression a share of that.
 */
class PathGovernorTest {
    private static final int CHUNK = 32 * 1024;

    private long now = 1_000_000_000L;
    private long cpu;
    private long demand;
    private final PathGovernor g = new PathGovernor(() -> cpu, () -> demand);

    /**
     * A path at which compression delivers {@code onRate} bytes/s and no compression {@code offRate}; the loop
     * gets {@code loopShare} of a core and wants {@code demandShare}; compression takes a share of its CPU.
     */
    private record Path(double onRate, double offRate, double loopShare, double demandShare,
            double compressShareOfLoop) {
        Path(double onRate, double offRate, double loopShare, double compressShareOfLoop) {
            this(onRate, offRate, loopShare, loopShare, compressShareOfLoop);
        }
    }

    private void run(long nanos, Path p) {
        long end = now + nanos;
        while (now < end) {
            boolean on = g.compressing();
            long step = (long) (CHUNK * 1e9 / (on ? p.onRate : p.offRate));
            long loop = (long) (step * p.loopShare);
            now += step;
            cpu += loop;
            demand += (long) (step * p.demandShare);
            g.record(now, CHUNK, on ? (long) (loop * p.compressShareOfLoop) : 0);
        }
    }

    /** Counts the times the governor switched to {@code to} over {@code nanos} (trials, on a settled path). */
    private int switchesTo(boolean to, long nanos, Path p) {
        int n = 0;
        boolean was = g.compressing();
        long end = now + nanos;
        while (now < end) {
            run(PathGovernor.EPOCH_NANOS / 5, p);
            if (g.compressing() == to && was != to) {
                n++;
            }
            was = g.compressing();
        }
        return n;
    }

    @Test
    void aSlowPathWithAnIdleLoopKeepsCompressingWithoutEverTrying() {
        run(30_000_000_000L, new Path(12e6, 3e6, 0.05, 0.2));
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isZero();
    }

    @Test
    void aSlowPathWhoseIdleLoopMostlyCompressesKeepsCompressingWithoutTrials() {
        // the bonding lab: 25 Mbit/s of links, the loop busy 7 % of the time, most of it compressing
        Path lab = new Path(12e6, 3e6, 0.07, 0.6);
        assertThat(switchesTo(false, 60_000_000_000L, lab)).isZero();
        assertThat(g.compressing()).isTrue();
    }

    @Test
    void aSaturatedLoopWhoseGoodputDoesNotRiseWithoutCompressionTriesRarely() {
        // a link of a few Gbit/s whose compression keeps up: without it the link, not the loop, is the limit
        Path fast = new Path(300e6, 150e6, 1.0, 0.6);
        int trials = switchesTo(false, 60_000_000_000L, fast);
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isZero();
        // the first trial after one epoch, then waits of 4, 8, 16 and 32 s: about five trials of 50 ms a minute
        assertThat(trials).isBetween(4, 5);
    }

    @Test
    void aFastPathWhereCompressionLimitsGoodputStopsCompressingAndRarelyTriesAgain() {
        Path loopback = new Path(300e6, 1500e6, 1.0, 0.8);
        run(PathGovernor.EPOCH_NANOS * 3, loopback);
        assertThat(g.compressing()).as("off after one epoch on and one trial off").isFalse();
        assertThat(g.switches()).isEqualTo(1);
        assertThat(switchesTo(true, 60_000_000_000L, loopback)).isBetween(4, 5);
        assertThat(g.switches()).isEqualTo(1);
    }

    @Test
    void aStarvedLoopOnAFastPathStaysOff() {
        // a loaded machine: the loop gets a fifth of a core, compression takes most of it
        Path starved = new Path(100e6, 300e6, 0.2, 1.0, 0.8);
        run(20_000_000_000L, starved);
        assertThat(g.compressing()).isFalse();
        assertThat(g.switches()).isEqualTo(1);
    }

    @Test
    void compressionComesBackWhenThePathSlowsDown() {
        run(PathGovernor.EPOCH_NANOS * 3, new Path(300e6, 1500e6, 1.0, 0.8));
        assertThat(g.compressing()).isFalse();
        // The path now carries 20 MB/s raw whatever the mode, the loop mostly idle: compression returns.
        run(3_000_000_000L, new Path(20e6, 20e6, 0.1, 0.5));
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isEqualTo(2);
    }

    @Test
    void aBusyLoopWhoseGoodputDoesNotRiseWithoutCompressionKeepsIt() {
        run(10_000_000_000L, new Path(100e6, 100e6, 1.0, 0.6));
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isZero();
    }

    @Test
    void anIdlePauseIsNotAnEpoch() {
        Path loopback = new Path(300e6, 1500e6, 1.0, 0.8);
        run(PathGovernor.EPOCH_NANOS / 2, loopback);
        now += 10 * PathGovernor.EPOCH_NANOS; // the application pauses
        run(PathGovernor.EPOCH_NANOS / 2, loopback);
        assertThat(g.compressing()).as("no decision from the pause").isTrue();
    }
}
