package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The delivery-rate filter, sample by sample (100 ms apart, as the health check takes them). */
class RateEstimatorTest {
    private static final long INTERVAL = 100_000_000L;

    private final RateEstimator rate = new RateEstimator();
    private long delivered;
    private long now = 1_000_000_000L;

    /** One interval in which the link delivered {@code bytes}. */
    private void interval(long bytes, boolean saturated) {
        delivered += bytes;
        now += INTERVAL;
        rate.sample(delivered, saturated, now);
    }

    @Test
    void aLinkKeptFullIsEstimatedOneIntervalAfterItsFirstReport() {
        rate.sample(0, true, now); // the first report only sets where counting starts
        assertThat(rate.bytesPerSecond()).isZero();
        interval(500_000, true);
        assertThat(rate.bytesPerSecond()).isEqualTo(5_000_000);
    }

    @Test
    void aLinkGivenLittleIsNotEstimatedFromWhatItWasGiven() {
        rate.sample(0, false, now);
        interval(10_000, false);
        interval(10_000, false);
        interval(10_000, false);
        assertThat(rate.bytesPerSecond()).isZero();
    }

    @Test
    void aLumpyFirstSampleGivesWayToTheThreeSampleFigureOnceThreeAreIn() {
        rate.sample(0, true, now);
        interval(200_000, true); // two chunks in one interval on a slow link
        assertThat(rate.bytesPerSecond()).isEqualTo(2_000_000);
        interval(50_000, true);
        assertThat(rate.bytesPerSecond()).isEqualTo(1_250_000); // the two together
        interval(50_000, true);
        assertThat(rate.bytesPerSecond()).isEqualTo(1_000_000); // three: 300 kB in 300 ms
        interval(100_000, true);
        interval(100_000, true);
        interval(100_000, true);
        assertThat(rate.bytesPerSecond()).isEqualTo(1_000_000); // the best three in a row, no single one
    }
}
