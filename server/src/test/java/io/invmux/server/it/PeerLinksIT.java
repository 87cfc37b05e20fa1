package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.invmux.fault.FaultProxy;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.ListLinksRequest;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a sidecar's configured links to a peer come up, with two sidecar processes. */
class PeerLinksIT {

    /** A path that is down when the sidecar starts (a NIC not up yet) must join the bundle once it comes up. */
    @Test
    void aConfiguredLinkThatIsDownAtStartJoinsWhenItsPathComesUp() throws Exception {
        int linkPort = SidecarProcess.freePort();
        try (SidecarProcess podB = SidecarProcess.start("pod-b", List.of("admin.address=",
                "listeners.0=tcp://127.0.0.1:" + linkPort), List.of());
                FaultProxy secondPath = FaultProxy.start(new InetSocketAddress("127.0.0.1", linkPort)).refuse(true);
                SidecarProcess podA = SidecarProcess.start("pod-a", List.of("admin.address=", "listeners=[]",
                        "peers.0.name=pod-b", "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                        "peers.0.links.1.address=" + secondPath.uri()), List.of())) {
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", podA.apiPort).usePlaintext().build();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> HealthGrpc.newBlockingStub(ch)
                        .check(HealthCheckRequest.newBuilder().setService("readiness").build()).getStatus()
                        == HealthCheckResponse.ServingStatus.SERVING);
                var links = ConnectionServiceGrpc.newBlockingStub(ch);
                await().atMost(Duration.ofSeconds(30)).until(() -> secondPath.connectionsAccepted() >= 2);
                assertThat(links.listLinks(ListLinksRequest.getDefaultInstance()).getLinksList()).hasSize(1);

                secondPath.refuse(false);
                await().atMost(Duration.ofSeconds(30)).until(() -> links.listLinks(
                        ListLinksRequest.getDefaultInstance()).getLinksCount() == 2);
                podA.awaitLine("link " + secondPath.uri() + " not added", 1);
            } finally {
                ch.shutdownNow();
            }
        }
    }
}
