package io.invmux.soak;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The soak, briefly (40 s, a sample a second), with Netty's leak detection paranoid as in every test: no byte lost or
 * corrupted under churn, flaps and attacks, no buffer leaked (the leak check runs after the class), and what the
 * process holds in the second half of the run is no more than in the first plus a margin: a leak of a thread, a
 * descriptor or pooled memory per stream, flap or attack would grow past it (hundreds of each happen per run).
 * {@code bench/run.sh soak} runs it for 30 minutes and reports slopes.
 */
class SoakTest {
    /** {@code -Dinvmux.soak.seconds=1800 -Dinvmux.soak.sampleSeconds=10} for the long run. */
    private static final long SECONDS = Long.getLong("invmux.soak.seconds", 40);
    private static final long SAMPLE_SECONDS = Long.getLong("invmux.soak.sampleSeconds", 1);

    @Test
    @Timeout(value = 3, unit = java.util.concurrent.TimeUnit.HOURS) // the long run; CI's ends in about a minute
    void churnFlapsAndAttacksLoseNothingAndHoldNothingMore() throws Exception {
        Duration duration = Duration.ofSeconds(SECONDS);
        Soak soak = new Soak(duration, Duration.ofSeconds(SAMPLE_SECONDS), Duration.ofSeconds(2));
        Soak.Report r = soak.run(System.out);
        System.out.println(r.summary(duration));
        assertThat(soak.failures()).isEmpty();
        assertThat(r.corrupt()).isZero();
        assertThat(r.failedStreams()).isZero();
        assertThat(r.bytesVerified()).isEqualTo(r.bytesSent()).isPositive();
        assertThat(r.streams()).isGreaterThan(50);
        assertThat(r.flaps()).isGreaterThanOrEqualTo(10);
        assertThat(r.attacks()).isGreaterThan(50);
        assertThat(r.attackerSessions()).isGreaterThan(10);
        assertThat(r.max(Soak.Sample::threads, 0.5, 1)).as("threads, second half")
                .isLessThanOrEqualTo(r.max(Soak.Sample::threads, 0, 0.5) + 8);
        assertThat(r.max(Soak.Sample::fds, 0.5, 1)).as("file descriptors, second half")
                .isLessThanOrEqualTo(r.max(Soak.Sample::fds, 0, 0.5) + 32);
        assertThat(r.max(Soak.Sample::poolDirectBytes, 0.5, 1)).as("pooled direct memory, second half")
                .isLessThanOrEqualTo(r.max(Soak.Sample::poolDirectBytes, 0, 0.5) + 32.0 * 1024 * 1024);
    }
}
