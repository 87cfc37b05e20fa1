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
 * The peer limits are sidecar config keys that reach the data plane: pod-b allows one session per listener
 * ({@code limits.maxSessions=1}); pod-a's session works, pod-c's is refused with LIMIT_EXCEEDED and counted in
 * pod-b's metrics, and pod-a's streams carry on meanwhile.
 */
@Timeout(120)
class PeerLimitsIT {

    private static double limitHits(int adminPort, String limit) throws Exception {
        return PrometheusText.scrape(adminPort).stream()
                .filter(x -> x.name().equals("invmux_listener_limit_hits_total") && limit.equals(x.label("limit")))
                .mapToDouble(PrometheusText.Sample::value).sum();
    }

    private static int echo(int port, int b) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000); // a guard against hanging only
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
            return s.getInputStream().read();
        }
    }

    @Test
    void aSessionOverLimitsMaxSessionsIsRefusedAndCountedWhileTheFirstCarriesOn() throws Exception {
        int linkPort = SidecarProcess.freePort();
        int adminB = SidecarProcess.freePort();
        int forwardA = SidecarProcess.freePort();
        try (TestServer target = TestServer.start(TestServer.ECHO);
                SidecarProcess podB = SidecarProcess.start("pod-b-lim", List.of("admin.address=127.0.0.1:" + adminB,
                        "listeners.0=tcp://127.0.0.1:" + linkPort, "limits.maxSessions=1",
                        "services.0.name=echo", "services.0.target=127.0.0.1:" + target.address().getPort()),
                        List.of());
                SidecarProcess podA = SidecarProcess.start("pod-a-lim", List.of("admin.address=", "listeners=[]",
                        "peers.0.name=pod-b-lim", "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                        "forwards.0.listen=127.0.0.1:" + forwardA, "forwards.0.peer=pod-b-lim",
                        "forwards.0.service=echo"), List.of());
                ApiChannels channels = new ApiChannels()) {
            var healthA = HealthGrpc.newBlockingStub(channels.to(podA));
            await().atMost(Duration.ofSeconds(30)).until(() -> healthA.check(HealthCheckRequest.newBuilder()
                    .setService("readiness").build()).getStatus() == HealthCheckResponse.ServingStatus.SERVING);
            assertThat(echo(forwardA, 'a')).isEqualTo('a');
            assertThat(limitHits(adminB, "maxSessions")).isZero();

            try (SidecarProcess podC = SidecarProcess.start("pod-c-lim", List.of("admin.address=", "listeners=[]",
                    "peers.0.name=pod-b-lim", "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort), List.of())) {
                podC.awaitLine("maxSessions", 30);
                await().atMost(Duration.ofSeconds(30)).until(() -> limitHits(adminB, "maxSessions") >= 1);
                var healthC = HealthGrpc.newBlockingStub(channels.to(podC));
                assertThat(healthC.check(HealthCheckRequest.newBuilder().setService("readiness").build())
                        .getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.NOT_SERVING);
                // pod-a's session is untouched by the refusals.
                assertThat(echo(forwardA, 'b')).isEqualTo('b');
            }
        }
    }
}
