package io.invmux.server.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.Pair;
import io.invmux.Stream;
import io.invmux.StreamResetException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The accepting half's bounds, on streams of a real session pair bridged to a java.net echo server: local
 * connections per service, and the idle timeout.
 */
class TcpServiceConnectorBoundsTest {
    private final List<String> refused = new CopyOnWriteArrayList<>();

    private TcpServiceConnector connector(int maxPerService, Duration idle) {
        return new TcpServiceConnector(TcpServiceConnector.DEFAULT_CONNECT_TIMEOUT, maxPerService, idle,
                (bound, message) -> refused.add(bound + ": " + message));
    }

    private static Stream open(Pair pair) throws Exception {
        Stream s = pair.client.openStream("svc:echo".getBytes(StandardCharsets.UTF_8));
        s.setReadTimeout(Duration.ofSeconds(60)); // a guard against hanging only
        return s;
    }

    /** A stream of {@code pair} that {@code connector} bridged to {@code echo} as service {@code service}. */
    private static Stream bridged(Pair pair, TcpServiceConnector connector, String service, TestServer echo)
            throws Exception {
        Stream near = open(pair);
        connector.connect(pair.server.acceptStream(Duration.ofSeconds(10)), service, echo.address())
                .get(30, TimeUnit.SECONDS);
        return near;
    }

    /** Writes one byte and reads its echo: the stream's connection is bridged and alive. */
    private static void ping(Stream s) throws Exception {
        s.outputStream().write('x');
        s.outputStream().flush();
        assertThat(s.inputStream().read()).isEqualTo('x');
    }

    @Test
    void aServiceHoldsAtMostItsCapOfLocalConnectionsAndTheNextStreamIsRefusedNamingTheBound() throws Exception {
        TcpServiceConnector connector = connector(2, Duration.ZERO);
        try (Pair pair = Pair.tcp(Config.defaults(), 1); TestServer echo = TestServer.start(TestServer.ECHO)) {
            Stream a = open(pair);
            Stream b = open(pair);
            Stream c = open(pair);
            connector.connect(pair.server.acceptStream(Duration.ofSeconds(10)), "echo", echo.address())
                    .get(30, TimeUnit.SECONDS);
            connector.connect(pair.server.acceptStream(Duration.ofSeconds(10)), "echo", echo.address())
                    .get(30, TimeUnit.SECONDS);
            CompletableFuture<Void> third = connector.connect(pair.server.acceptStream(Duration.ofSeconds(10)),
                    "echo", echo.address());

            assertThatThrownBy(() -> third.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasRootCauseMessage("service 'echo' already has 2 local connections "
                            + "(limits.maxServiceConnections)");
            assertThatThrownBy(() -> c.inputStream().read()).isInstanceOfSatisfying(StreamResetException.class,
                    e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.REFUSED_STREAM);
                        assertThat(e.getMessage()).contains("service 'echo' already has 2 local connections");
                    });
            assertThat(refused).singleElement().asString().startsWith("limits.maxServiceConnections: stream ");
            assertThat(connector.openConnections("echo")).isEqualTo(2);
            assertThat(echo.accepted()).isEqualTo(2);
            ping(a);
            ping(b);

            // Another service has places of its own.
            ping(bridged(pair, connector, "other", echo));

            // An ended connection frees its place.
            a.reset();
            await().atMost(Duration.ofSeconds(30)).until(() -> connector.openConnections("echo") == 1);
            ping(bridged(pair, connector, "echo", echo));
            assertThat(connector.openConnections()).isEqualTo(3);
            connector.closeAll();
            await().atMost(Duration.ofSeconds(30)).until(() -> connector.openConnections() == 0);
        }
    }

    @Test
    void aConnectionWithNoByteEitherWayForTheIdleTimeoutIsEndedAndItsPlaceFreed() throws Exception {
        TcpServiceConnector connector = connector(1, Duration.ofMillis(300));
        try (Pair pair = Pair.tcp(Config.defaults(), 1); TestServer echo = TestServer.start(TestServer.ECHO)) {
            Stream idle = bridged(pair, connector, "echo", echo);
            ping(idle);
            assertThatThrownBy(() -> idle.inputStream().read()).isInstanceOf(StreamResetException.class);
            await().atMost(Duration.ofSeconds(30)).until(() -> connector.openConnections("echo") == 0);
            assertThat(refused).singleElement().asString().startsWith("limits.serviceIdleTimeout: service stream ")
                    .endsWith("no byte either way for 300 ms; closing it");
        }
    }

    @Test
    void aConnectionCarryingBytesIsNotEndedByTheIdleTimeout() throws Exception {
        // Pings every 20 ms against a 2 s timeout: only a stall a hundred times longer than the gap would end it.
        TcpServiceConnector connector = connector(1, Duration.ofSeconds(2));
        try (Pair pair = Pair.tcp(Config.defaults(), 1); TestServer echo = TestServer.start(TestServer.ECHO)) {
            Stream busy = bridged(pair, connector, "echo", echo);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < end) {
                ping(busy);
                Thread.sleep(20);
            }
            assertThat(refused).isEmpty();
            assertThat(connector.openConnections("echo")).isEqualTo(1);
            connector.closeAll();
        }
    }
}
