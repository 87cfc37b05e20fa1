package io.invmux.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Refusals at a bound: every one counted, logged at most once per 10 s per bound, client text cut and escaped. */
class BoundsTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final List<String> logged = new ArrayList<>();
    private final Bounds bounds = new Bounds(now::get, logged::add);

    @Test
    void everyRefusalIsCountedButABurstIsLoggedOnceThenSummedUpAfterTheInterval() {
        for (int i = 0; i < 100; i++) {
            bounds.refused("api.maxStreamsPerClient", "client 127.0.0.1 #" + i);
        }
        bounds.refused("security.serviceTargets", "AddService 'x'");
        assertThat(bounds.count("api.maxStreamsPerClient")).isEqualTo(100);
        assertThat(bounds.counts()).containsEntry("security.serviceTargets", 1L);
        assertThat(logged).containsExactly("refused at api.maxStreamsPerClient: client 127.0.0.1 #0",
                "refused at security.serviceTargets: AddService 'x'");

        now.addAndGet(Bounds.LOG_INTERVAL_NANOS - 1);
        bounds.refused("api.maxStreamsPerClient", "still within the interval");
        assertThat(logged).hasSize(2);
        now.addAndGet(1);
        bounds.refused("api.maxStreamsPerClient", "client 127.0.0.1 #101");
        assertThat(logged).last().isEqualTo("refused at api.maxStreamsPerClient: client 127.0.0.1 #101 (100 more "
                + "refusal(s) at this bound not logged since the last one)");
        assertThat(bounds.count("api.maxStreamsPerClient")).isEqualTo(102);
    }

    @Test
    void clientTextIsCutAndControlCharactersEscaped() {
        assertThat(Bounds.shown("db")).isEqualTo("'db'");
        assertThat(Bounds.shown("a\nb'\\\u0007")).isEqualTo("'a\\x0ab\\x27\\x5c\\x07'");
        assertThat(Bounds.shown("x".repeat(1000))).isEqualTo("'" + "x".repeat(64) + "...'");
    }

    @Test
    void gaugesAreReadWhenAsked() {
        AtomicLong open = new AtomicLong(3);
        bounds.gauge("invmux_service_connections", "help", open::get);
        open.set(5);
        assertThat(bounds.gauges().get("invmux_service_connections").value().getAsLong()).isEqualTo(5);
    }
}
