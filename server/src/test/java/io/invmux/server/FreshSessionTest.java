package io.invmux.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.ErrorCode;
import io.invmux.InvMuxException;
import io.invmux.Session;
import io.invmux.Stream;
import io.invmux.server.config.ConfigLoader;
import io.invmux.server.proxy.TestServer;
import java.io.IOException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A dialed session that runs out of stream ids goes away; the sidecar then dials a fresh session to the same peer
 * for new streams, while the old one finishes the streams it still carries. Two sidecars in this JVM, real
 * sockets; the id space is skipped to its end with the core's test hook (2^31 opens would take hours).
 */
@Timeout(120)
class FreshSessionTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static Sidecar start(String identity, List<String> settings) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of("api.address=127.0.0.1:0", "admin.address="));
        all.addAll(settings);
        return Sidecar.start(new ConfigLoader().hostname(identity).overrides(all).load());
    }

    private static byte[] roundTrip(Stream s, byte b) throws IOException {
        s.outputStream().write(b);
        s.outputStream().flush();
        byte[] got = new byte[1];
        assertThat(s.inputStream().read(got)).isEqualTo(1);
        return got;
    }

    @Test
    void aSessionWhoseStreamIdsRunOutIsReplacedForNewStreamsAndFinishesItsOpenOnes() throws Exception {
        try (TestServer echo = TestServer.start(TestServer.ECHO);
                Sidecar podB = start("pod-b", List.of("listeners.0=tcp://127.0.0.1:0", "services.0.name=echo",
                        "services.0.target=127.0.0.1:" + echo.address().getPort()))) {
            String link = podB.runtime().listenAddresses().values().iterator().next();
            try (Sidecar podA = start("pod-a", List.of("listeners=[]", "peers.0.name=pod-b",
                    "peers.0.links.0.address=" + link))) {
                await().atMost(WAIT).until(podA::isReady);
                Session first = podA.runtime().sessionFor("pod-b");
                Method skip = first.getClass().getDeclaredMethod("skipStreamIdsForTest", long.class);
                skip.setAccessible(true);
                skip.invoke(first, 0xFFFF_FFFFL);

                // The last id carries a stream; the open after it finds the ids spent and sends the session away.
                Stream last = podA.runtime().openStream("pod-b", "echo", Map.of());
                assertThat(Integer.toUnsignedLong(last.id())).isEqualTo(0xFFFF_FFFFL);
                assertThat(roundTrip(last, (byte) 1)).containsExactly(1);
                assertThatThrownBy(() -> podA.runtime().openStream("pod-b", "echo", Map.of()))
                        .isInstanceOfSatisfying(InvMuxException.class,
                                e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.LIMIT_EXCEEDED));
                assertThat(first.isGoingAway()).isTrue();

                // A fresh session takes new streams ...
                await().atMost(WAIT).ignoreExceptions().until(() -> podA.runtime().sessionFor("pod-b") != first);
                Session fresh = podA.runtime().sessionFor("pod-b");
                assertThat(fresh.isGoingAway()).isFalse();
                try (Stream next = podA.runtime().openStream("pod-b", "echo", Map.of())) {
                    assertThat(next.session()).isSameAs(fresh);
                    assertThat(roundTrip(next, (byte) 2)).containsExactly(2);
                }
                // ... while the old one still carries the stream it had, and closes once that ends.
                assertThat(first.isClosed()).isFalse();
                assertThat(roundTrip(last, (byte) 3)).containsExactly(3);
                last.close();
                await().atMost(WAIT).until(first::isClosed);
                assertThat(fresh.isClosed()).isFalse();
                assertThat(podA.isReady()).isTrue();
            }
        }
    }
}
