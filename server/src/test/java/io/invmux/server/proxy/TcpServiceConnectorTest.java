package io.invmux.server.proxy;

import static io.invmux.server.proxy.Bytes.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.Pair;
import io.invmux.Stream;
import io.invmux.StreamResetException;
import io.invmux.server.proxy.Bytes.Digest;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The accepting half alone: streams from a real session pair, bridged to plain java.net servers. */
class TcpServiceConnectorTest {
    private final TcpServiceConnector connector = new TcpServiceConnector();

    @Test
    void bridgesAStreamWithItsTargetUntilBothEnd() throws Exception {
        try (Pair pair = Pair.tcp(Config.defaults(), 2); TestServer echo = TestServer.start(TestServer.ECHO)) {
            Stream near = pair.client.openStream("svc:echo".getBytes(StandardCharsets.UTF_8));
            near.setReadTimeout(Duration.ofSeconds(60)); // a guard against hanging only
            // Written before the far end even accepted: must wait in the stream, not get lost.
            CompletableFuture<Digest> sent = Async.run("stream-send", () -> {
                Digest d = Bytes.write(near.outputStream(), 4L * MIB, 11);
                near.closeWrite();
                return d;
            });
            connector.connect(pair.server.acceptStream(Duration.ofSeconds(10)), echo.address())
                    .get(30, TimeUnit.SECONDS);

            Digest echoed = Bytes.drain(near.inputStream()); // to the end: the echo server's FIN became the stream's
            assertThat(echoed).isEqualTo(sent.get(30, TimeUnit.SECONDS));
            await().untilAsserted(() -> assertThat(connector.stats().connectionsActive()).isZero());
            assertThat(connector.stats().bytesOut()).isEqualTo(4L * MIB);
            assertThat(connector.stats().bytesIn()).isEqualTo(4L * MIB);
            near.closeFuture().get(30, TimeUnit.SECONDS); // both directions finished cleanly, no reset
        }
    }

    @Test
    void refusedTargetResetsTheStream() throws Exception {
        InetSocketAddress dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = (InetSocketAddress) s.getLocalSocketAddress();
        }
        try (Pair pair = Pair.tcp(Config.defaults(), 1)) {
            Stream near = pair.client.openStream("svc:dead".getBytes(StandardCharsets.UTF_8));
            near.setReadTimeout(Duration.ofSeconds(60)); // a guard against hanging only
            near.outputStream().write("hello".getBytes(StandardCharsets.US_ASCII));

            CompletableFuture<Void> connected = connector.connect(pair.server.acceptStream(Duration.ofSeconds(10)),
                    dead);

            assertThatThrownBy(() -> connected.get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(ConnectException.class);
            assertThatThrownBy(() -> near.inputStream().read()).isInstanceOf(StreamResetException.class);
            assertThat(connector.stats().connectionsFailed()).isEqualTo(1);
            await().untilAsserted(() -> assertThat(connector.stats().connectionsActive()).isZero());
        }
    }
}
