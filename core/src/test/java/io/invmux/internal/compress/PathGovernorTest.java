package io.invmux.internal.compress;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The session-wide decision, driven by a made-up clock: chunks at a goodput, with a share of time compressing. */
class PathGovernorTest {
    private static final int CHUNK = 32 * 1024;

    private final PathGovernor g = new PathGovernor();
    private long now = 1_000_000_000L;

    /** Runs {@code nanos} of chunks: at {@code onRate} bytes/s while compressing (busy that share), else offRate. */
    private void run(long nanos, double onRate, double busy, double offRate) {
        long end = now + nanos;
        while (now < end) {
            boolean on = g.compressing();
            double rate = on ? onRate : offRate;
            long step = (long) (CHUNK * 1e9 / rate);
            now += step;
            g.record(now, CHUNK, on ? (long) (step * busy) : 0);
        }
    }

    @Test
    void aSlowPathKeepsCompressingWithoutEverTryingWithout() {
        run(30_000_000_000L, 3e6, 0.01, 1.2e6);
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isZero();
    }

    @Test
    void aFastPathWhereCompressionLimitsGoodputStopsCompressingAndRarelyTriesAgain() {
        run(PathGovernor.EPOCH_NANOS * 3, 300e6, 0.9, 1500e6);
        assertThat(g.compressing()).as("off after one epoch on and one trial off").isFalse();
        assertThat(g.switches()).isEqualTo(1);
        int trials = 0;
        boolean was = false;
        long end = now + 60_000_000_000L;
        while (now < end) {
            run(PathGovernor.EPOCH_NANOS / 5, 300e6, 0.9, 1500e6);
            if (g.compressing() && !was) {
                trials++;
            }
            was = g.compressing();
        }
        // waits of 2, 4, 8, 16, 32 s: five trials in a minute, each one epoch long
        assertThat(trials).isBetween(4, 5);
        assertThat(g.switches()).isEqualTo(1);
    }

    @Test
    void compressionComesBackWhenThePathSlowsDown() {
        run(PathGovernor.EPOCH_NANOS * 3, 300e6, 0.9, 1500e6);
        assertThat(g.compressing()).isFalse();
        // The path now carries 20 MB/s raw whatever the mode: compression costs nothing in goodput, so it returns.
        run(3_000_000_000L, 20e6, 0.05, 20e6);
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isEqualTo(2);
    }

    @Test
    void aBusyLoopWhoseGoodputDoesNotRiseWithoutCompressionKeepsIt() {
        run(10_000_000_000L, 100e6, 0.6, 100e6);
        assertThat(g.compressing()).isTrue();
        assertThat(g.switches()).isZero();
    }
}
