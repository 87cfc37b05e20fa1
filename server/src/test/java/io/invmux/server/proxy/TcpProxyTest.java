package io.invmux.server.proxy;

import static io.invmux.server.proxy.Bytes.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.server.proxy.Bytes.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * End to end: a plain java.net client talks through {@link TcpForwarder} → session (two loopback TCP links) →
 * {@link TcpServiceConnector} → a plain java.net server.
 */
class TcpProxyTest {
    /** Only a guard against hanging forever on a bug; every wait below ends by itself well before. */
    private static final int SO_TIMEOUT_MS = 60_000;

    private ProxyFixture fixture;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        fixture = ProxyFixture.start(Config.defaults(), 2);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        fixture.close();
    }

    @Test
    void carries64MiBEachWayAtOnceIntact() throws Exception {
        long size = 64L * MIB;
        CompletableFuture<Digest> serverSent = new CompletableFuture<>();
        CompletableFuture<Digest> serverReceived = new CompletableFuture<>();
        TcpForwarder forwarder = serviceAt("duplex", server(s -> {
            try (s) {
                CompletableFuture<Digest> sending = Async.run("server-send", () -> {
                    Digest d = Bytes.write(s.getOutputStream(), size, 2);
                    s.shutdownOutput();
                    return d;
                });
                serverReceived.complete(Bytes.drain(s.getInputStream()));
                serverSent.complete(sending.join());
            }
        }));

        Socket client = connect(forwarder);
        long start = System.nanoTime();
        CompletableFuture<Digest> clientSent = Async.run("client-send", () -> {
            Digest d = Bytes.write(client.getOutputStream(), size, 1);
            client.shutdownOutput();
            return d;
        });
        Digest clientReceived = Bytes.drain(client.getInputStream());
        Digest sent = clientSent.join();
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(sent.count()).isEqualTo(size);
        assertThat(serverReceived.join()).isEqualTo(sent);
        assertThat(clientReceived.count()).isEqualTo(size);
        assertThat(clientReceived).isEqualTo(serverSent.join());
        System.out.printf("64 MiB each way at once through the proxy: %.2f s, %.0f MiB/s per direction%n",
                seconds, 64 / seconds);

        awaitIdle(forwarder);
        assertThat(forwarder.stats().bytesIn()).isEqualTo(size);
        assertThat(forwarder.stats().bytesOut()).isEqualTo(size);
        assertThat(fixture.connector.stats().bytesIn()).isEqualTo(size);
        assertThat(fixture.connector.stats().bytesOut()).isEqualTo(size);
        assertThat(forwarder.stats().connectionsAccepted()).isEqualTo(1);
    }

    /**
     * The far side writes more than the whole path holds after it saw EOF, and the client reads only once that
     * writer is stuck: the forwarder's socket, whose input is shut, must wait for room to write (EPOLLOUT) and
     * then go on.
     */
    @Test
    void clientHalfCloseReachesServerWhichCanStillSend() throws Exception {
        long size = 64L * MIB;
        CompletableFuture<Digest> serverReceived = new CompletableFuture<>();
        CompletableFuture<Progress> serverWriter = new CompletableFuture<>();
        CompletableFuture<Digest> serverSent = new CompletableFuture<>();
        TcpForwarder forwarder = serviceAt("half", server(s -> {
            try (s) {
                serverReceived.complete(Bytes.drain(s.getInputStream())); // returns only on the client's FIN
                Progress out = new Progress(s.getOutputStream());
                serverWriter.complete(out);
                serverSent.complete(Bytes.write(out, size, 3));
                s.shutdownOutput();
            }
        }));

        Socket client = connect(forwarder);
        Digest sent = Bytes.write(client.getOutputStream(), MIB, 4);
        client.shutdownOutput();
        assertThat(serverReceived.get(SO_TIMEOUT_MS, TimeUnit.MILLISECONDS)).isEqualTo(sent);
        long held = serverWriter.get(SO_TIMEOUT_MS, TimeUnit.MILLISECONDS).awaitStalled();
        assertThat(held).isLessThan(size);

        Digest received = Bytes.drain(client.getInputStream());
        assertThat(received).isEqualTo(serverSent.join());
        assertThat(received.count()).isEqualTo(size);
        awaitIdle(forwarder);
    }

    /** The mirror image: now the connector's socket has its input shut and must wait for room to write. */
    @Test
    void serverHalfCloseReachesClientWhichCanStillSend() throws Exception {
        long size = 64L * MIB;
        CompletableFuture<Digest> serverSent = new CompletableFuture<>();
        CompletableFuture<Digest> serverReceived = new CompletableFuture<>();
        CountDownLatch startReading = new CountDownLatch(1);
        TcpForwarder forwarder = serviceAt("half", server(s -> {
            try (s) {
                serverSent.complete(Bytes.write(s.getOutputStream(), MIB, 5));
                s.shutdownOutput();
                startReading.await();
                serverReceived.complete(Bytes.drain(s.getInputStream()));
            }
        }));

        Socket client = connect(forwarder);
        Digest received = Bytes.drain(client.getInputStream()); // returns only on the server's FIN
        assertThat(received).isEqualTo(serverSent.join());
        Progress out = new Progress(client.getOutputStream());
        CompletableFuture<Digest> sending = Async.run("client-send", () -> {
            Digest d = Bytes.write(out, size, 6);
            client.shutdownOutput();
            return d;
        });
        assertThat(out.awaitStalled()).isLessThan(size);
        startReading.countDown();

        Digest sent = sending.get(SO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertThat(serverReceived.get(SO_TIMEOUT_MS, TimeUnit.MILLISECONDS)).isEqualTo(sent);
        assertThat(sent.count()).isEqualTo(size);
        awaitIdle(forwarder);
    }

    @Test
    void refusedTargetResetsTheClientConnection() throws Exception {
        InetSocketAddress dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = (InetSocketAddress) s.getLocalSocketAddress();
        }
        fixture.map("dead", dead);
        TcpForwarder forwarder = fixture.forward("dead");

        Socket client = connect(forwarder);
        long start = System.nanoTime();
        assertConnectionReset(client.getInputStream());
        System.out.printf("refused target: client connection reset after %.1f ms%n",
                (System.nanoTime() - start) / 1e6);

        awaitIdle(forwarder);
        assertThat(fixture.connector.stats().connectionsFailed()).isEqualTo(1);
    }

    @Test
    void streamThatCannotBeOpenedResetsTheClientConnection() throws Exception {
        TcpForwarder forwarder = fixture.forward("nowhere", (peer, service) -> {
            throw new IOException("no session to " + peer);
        });

        Socket client = connect(forwarder);
        assertConnectionReset(client.getInputStream());

        await().untilAsserted(() -> assertThat(forwarder.stats().connectionsActive()).isZero());
        assertThat(forwarder.stats().connectionsFailed()).isEqualTo(1);
    }

    @Test
    void fiftyConcurrentConnectionsEachEcho1MiB() throws Exception {
        TcpForwarder forwarder = serviceAt("echo", server(TestServer.ECHO));
        int connections = 50;
        List<CompletableFuture<Digest[]>> results = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            long seed = 100 + i;
            results.add(Async.run("echo-client-" + i, () -> {
                try (Socket client = connect(forwarder)) {
                    CompletableFuture<Digest> sending = Async.run("echo-send", () -> {
                        Digest d = Bytes.write(client.getOutputStream(), MIB, seed);
                        client.shutdownOutput();
                        return d;
                    });
                    Digest received = Bytes.drain(client.getInputStream());
                    return new Digest[] {sending.join(), received};
                }
            }));
        }
        for (CompletableFuture<Digest[]> r : results) {
            Digest[] sentAndReceived = r.get(SO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            assertThat(sentAndReceived[1]).isEqualTo(sentAndReceived[0]);
            assertThat(sentAndReceived[1].count()).isEqualTo(MIB);
        }
        awaitIdle(forwarder);
        assertThat(forwarder.stats().connectionsAccepted()).isEqualTo(connections);
        assertThat(forwarder.stats().bytesIn()).isEqualTo((long) connections * MIB);
        assertThat(forwarder.stats().bytesOut()).isEqualTo((long) connections * MIB);
    }

    /**
     * Nothing listens where the forwarder did any more. On a busy machine another process may take the freed port
     * at once, so what counts is that the forwarder takes no new connection.
     */
    private void assertTakesNoNewConnection(TcpForwarder forwarder) throws IOException {
        long accepted = forwarder.stats().connectionsAccepted();
        try {
            connect(forwarder).close();
        } catch (ConnectException expected) {
            // the usual case
        } catch (SocketException alsoFine) {
            // Another process took the port and reset the connection (seen in CI): still not the forwarder's.
        }
        assertThat(forwarder.stats().connectionsAccepted()).isEqualTo(accepted);
    }

    @Test
    void closeAllResetsOpenConnections() throws Exception {
        TestServer echo = server(TestServer.ECHO);
        TcpForwarder forwarder = serviceAt("echo", echo);
        List<Socket> clients = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket c = connect(forwarder);
            pingPong(c); // the whole path is up
            clients.add(c);
        }
        assertThat(fixture.connector.stats().connectionsActive()).isEqualTo(3);

        forwarder.closeAll();

        for (Socket c : clients) {
            assertConnectionReset(c.getInputStream());
        }
        assertTakesNoNewConnection(forwarder);
        // The resets travelled over the session too: the connector dropped its target connections.
        awaitIdle(forwarder);
    }

    @Test
    void closeStopsListeningButOpenConnectionsGoOn() throws Exception {
        TcpForwarder forwarder = serviceAt("echo", server(TestServer.ECHO));
        Socket client = connect(forwarder);
        pingPong(client);

        forwarder.close();

        assertTakesNoNewConnection(forwarder);
        pingPong(client);
        client.shutdownOutput();
        assertThat(client.getInputStream().read()).isEqualTo(-1); // the echo server's FIN, passed through
        awaitIdle(forwarder);
    }

    // ---------------------------------------------------------------------------------------------------------

    private TestServer server(TestServer.Behaviour behaviour) throws IOException {
        TestServer s = TestServer.start(behaviour);
        toClose.add(s);
        return s;
    }

    /** A forwarder whose connections reach {@code server} as {@code service}. */
    private TcpForwarder serviceAt(String service, TestServer server) throws IOException {
        fixture.map(service, server.address());
        return fixture.forward(service);
    }

    private Socket connect(TcpForwarder forwarder) throws IOException {
        Socket s = new Socket();
        toClose.add(s);
        s.connect(forwarder.boundAddress(), 10_000);
        s.setSoTimeout(SO_TIMEOUT_MS);
        return s;
    }

    private static void pingPong(Socket s) throws IOException {
        byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
        s.getOutputStream().write(ping);
        assertThat(s.getInputStream().readNBytes(ping.length)).isEqualTo(ping);
    }

    /** The connection ends with a reset (SocketException) rather than an orderly EOF or a timeout. */
    private static void assertConnectionReset(InputStream in) {
        assertThatThrownBy(() -> {
            while (in.read() >= 0) {
                // whatever arrived before the reset is not the point
            }
        }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
    }

    /** Waits for every connection on both halves of the proxy to be over. */
    private void awaitIdle(TcpForwarder forwarder) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(forwarder.stats().connectionsActive()).isZero();
            assertThat(fixture.connector.stats().connectionsActive()).isZero();
        });
    }
}
