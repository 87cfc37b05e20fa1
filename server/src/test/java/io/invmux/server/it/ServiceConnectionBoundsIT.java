package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.invmux.server.proxy.TestServer;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * limits.maxServiceConnections on two sidecar processes: pod-a forwards local connections to pod-b's echo service,
 * which may hold one local connection to its target at a time; the next is reset and counted in pod-b's metrics.
 */
@Timeout(120)
class ServiceConnectionBoundsIT {

    /** Writes one byte and reads what comes back: the byte when bridged, -1 or an exception when refused. */
    private static int ping(Socket s) throws IOException {
        s.setSoTimeout(30_000); // a guard against hanging only
        s.getOutputStream().write('x');
        s.getOutputStream().flush();
        try {
            return s.getInputStream().read();
        } catch (IOException reset) {
            return -1;
        }
    }

    private static double sample(int adminPort, String name) throws Exception {
        return PrometheusText.scrape(adminPort).stream().filter(x -> x.name().equals(name))
                .mapToDouble(PrometheusText.Sample::value).sum();
    }

    @Test
    void aStreamOverTheServicesConnectionCapIsResetAndCountedAndAFreedPlaceIsTakenAgain() throws Exception {
        int linkPort = SidecarProcess.freePort();
        int adminB = SidecarProcess.freePort();
        int forwardPort = SidecarProcess.freePort();
        try (TestServer echo = TestServer.start(TestServer.ECHO);
                SidecarProcess podB = SidecarProcess.start("pod-b-cap", List.of("admin.address=127.0.0.1:" + adminB,
                        "listeners.0=tcp://127.0.0.1:" + linkPort, "limits.maxServiceConnections=1",
                        "services.0.name=echo", "services.0.target=127.0.0.1:" + echo.address().getPort()),
                        List.of());
                SidecarProcess podA = SidecarProcess.start("pod-a-cap", List.of("admin.address=", "listeners=[]",
                        "peers.0.name=pod-b-cap", "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                        "forwards.0.listen=127.0.0.1:" + forwardPort, "forwards.0.peer=pod-b-cap",
                        "forwards.0.service=echo"), List.of());
                ApiChannels channels = new ApiChannels()) {
            var health = HealthGrpc.newBlockingStub(channels.to(podA));
            await().atMost(Duration.ofSeconds(30)).until(() -> health.check(HealthCheckRequest.newBuilder()
                    .setService("readiness").build()).getStatus() == HealthCheckResponse.ServingStatus.SERVING);

            try (Socket first = new Socket("127.0.0.1", forwardPort)) {
                assertThat(ping(first)).isEqualTo('x');
                assertThat(sample(adminB, "invmux_service_connections")).isEqualTo(1);
                try (Socket second = new Socket("127.0.0.1", forwardPort)) {
                    assertThat(ping(second)).isEqualTo(-1);
                }
                assertThat(sample(adminB, "invmux_refusals_total")).isEqualTo(1);
                assertThat(echo.accepted()).isEqualTo(1);
                podB.awaitLine("refused at limits.maxServiceConnections", 10);
                assertThat(ping(first)).isEqualTo('x');
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> sample(adminB, "invmux_service_connections") == 0);
            try (Socket third = new Socket("127.0.0.1", forwardPort)) {
                assertThat(ping(third)).isEqualTo('x');
            }
        }
    }
}
