package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.ListSessionsRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code api.maxConnectionsPerClient} on sidecar processes: a client holding that many connections to the API port
 * (here idle ones, which no call-based limit sees) gets its next connection closed at once, counted and shown in
 * the metrics; the health port has a budget of its own; closing a connection frees its place; on the Unix socket
 * the client is the user.
 */
@Timeout(120)
class ApiConnectionLimitIT {
    private static final int LIMIT = 3;

    private static double metric(int adminPort, String name, String bound) throws Exception {
        return PrometheusText.scrape(adminPort).stream().filter(x -> x.name().equals(name)
                && (bound == null || bound.equals(x.label("bound")))).mapToDouble(PrometheusText.Sample::value).sum();
    }

    /** True when the server closed the connection: EOF or a reset, well before the guard timeout. */
    private static boolean closedByServer(Socket s) throws IOException {
        s.setSoTimeout(30_000); // a guard against hanging only
        InputStream in = s.getInputStream();
        try {
            return in.read() == -1;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    @Test
    void theConnectionOneTooManyOfAClientIsClosedAtOnceAndAFreedPlaceIsTakenAgain() throws Exception {
        int adminPort = SidecarProcess.freePort();
        int healthPort = SidecarProcess.freePort();
        List<Socket> held = new ArrayList<>();
        try (SidecarProcess sidecar = SidecarProcess.start("pod-conns", List.of("admin.address=127.0.0.1:" + adminPort,
                "listeners=[]", "health.address=127.0.0.1:" + healthPort,
                "api.maxConnectionsPerClient=" + LIMIT), List.of())) {
            for (int i = 0; i < LIMIT; i++) {
                held.add(new Socket("127.0.0.1", sidecar.apiPort));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> metric(adminPort, "invmux_api_connections", null)
                    == LIMIT);
            try (Socket extra = new Socket("127.0.0.1", sidecar.apiPort)) {
                assertThat(closedByServer(extra)).isTrue();
            }
            assertThat(metric(adminPort, "invmux_refusals_total", "api.maxConnectionsPerClient")).isEqualTo(1);
            sidecar.awaitLine("refused at api.maxConnectionsPerClient", 10);

            // The health port counts on its own: the kubelet's probes are not starved by an API client.
            try (Socket probe = new Socket("127.0.0.1", healthPort)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> metric(adminPort, "invmux_api_connections", null)
                        == LIMIT + 1);
            }

            // Closing one frees its place: a gRPC client gets in again.
            held.remove(0).close();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.apiPort).usePlaintext().build();
            try {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> ConnectionServiceGrpc
                        .newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .listSessions(ListSessionsRequest.getDefaultInstance()) != null);
            } finally {
                ch.shutdownNow();
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void onTheUnixSocketEveryConnectionOfTheSameUserCounts(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("api.sock");
        List<SocketChannel> held = new ArrayList<>();
        try (SidecarProcess unix = SidecarProcess.startOnUnixSocket("pod-conns-unix", socket, List.of(
                "admin.address=", "listeners=[]", "api.maxConnectionsPerClient=" + LIMIT))) {
            for (int i = 0; i < LIMIT; i++) {
                held.add(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
            }
            try (SocketChannel extra = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                extra.connect(UnixDomainSocketAddress.of(socket));
                unix.awaitLine("refused at api.maxConnectionsPerClient", 30);
                assertThat(extra.read(ByteBuffer.allocate(1))).isEqualTo(-1);
            }
        } finally {
            for (SocketChannel c : held) {
                c.close();
            }
        }
    }
}
