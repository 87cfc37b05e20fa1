package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.invmux.proto.v1.StreamTarget;
import io.invmux.proto.v1.TrafficClass;
import io.invmux.server.it.PrometheusText.Sample;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two sidecar processes joined by two links: a stream opened through the API with a traffic class reaches the
 * accepting application with that class, an unknown class is refused naming the field, a {@code trafficClass:
 * redundant} forward sends every byte twice, and /metrics counts the bytes of each class.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TrafficClassIT {
    private static final ApiChannels channels = new ApiChannels();
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static EchoServer echo;
    private static int adminA;
    private static int redundantPort;

    @BeforeAll
    static void start() throws Exception {
        echo = EchoServer.start();
        int linkPort = SidecarProcess.freePort();
        adminA = SidecarProcess.freePort();
        redundantPort = SidecarProcess.freePort();
        podB = SidecarProcess.start("pod-b", List.of("listeners.0=tcp://127.0.0.1:" + linkPort,
                "services.0.name=echo", "services.0.target=127.0.0.1:" + echo.port()), List.of());
        podA = SidecarProcess.start("pod-a", List.of("listeners=[]", "admin.address=127.0.0.1:" + adminA,
                "peers.0.name=pod-b", "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                "peers.0.links.1.address=tcp://127.0.0.1:" + linkPort,
                "forwards.0.listen=127.0.0.1:" + redundantPort, "forwards.0.peer=pod-b", "forwards.0.service=echo",
                "forwards.0.trafficClass=redundant"), List.of());
        await().atMost(Duration.ofSeconds(30)).until(() -> value("invmux_link_healthy") >= 2);
    }

    @AfterAll
    static void stop() throws Exception {
        channels.close();
        int exitA = podA == null ? 0 : podA.stop();
        int exitB = podB == null ? 0 : podB.stop();
        echo.close();
        assertThat(exitA).isZero();
        assertThat(exitB).isZero();
    }

    private static double value(String name, String... labelPairs) {
        try {
            return PrometheusText.scrape(adminA).stream().filter(s -> s.name().equals(name))
                    .filter(s -> {
                        for (int i = 0; i < labelPairs.length; i += 2) {
                            if (!labelPairs[i + 1].equals(s.label(labelPairs[i]))) {
                                return false;
                            }
                        }
                        return true;
                    }).mapToDouble(Sample::value).sum();
        } catch (Exception e) {
            return 0;
        }
    }

    @Test
    void theAcceptingApplicationSeesTheClassItsOpenerChose() throws Exception {
        ManagedChannel a = channels.to(podA);
        ManagedChannel b = channels.to(podB);
        for (TrafficClass c : List.of(TrafficClass.TRAFFIC_CLASS_BULK, TrafficClass.TRAFFIC_CLASS_INTERACTIVE,
                TrafficClass.TRAFFIC_CLASS_REDUNDANT)) {
            String service = "tc-" + c.getNumber();
            var acceptor = GrpcStream.accept(b, service);
            var opener = GrpcStream.open(a, StreamTarget.newBuilder().setPeer("pod-b").setService(service)
                    .setTrafficClass(c).build());
            assertThat(opener.awaitInfo(30).getTrafficClass()).as("opened").isEqualTo(c);
            assertThat(acceptor.awaitInfo(30).getTrafficClass()).as("accepted").isEqualTo(c);
            byte[] data = new byte[256 * 1024];
            new Random(c.getNumber()).nextBytes(data);
            CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> {
                try {
                    return acceptor.in.readAllBytes();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            opener.out.write(data);
            opener.out.close();
            assertThat(got.get(60, TimeUnit.SECONDS)).as("bytes of the %s stream", c).isEqualTo(data);
            acceptor.out.close();
        }
        // Unspecified is bulk, on both ends.
        var acceptor = GrpcStream.accept(b, "tc-default");
        var opener = GrpcStream.open(a, "pod-b", "tc-default");
        assertThat(opener.awaitInfo(30).getTrafficClass()).isEqualTo(TrafficClass.TRAFFIC_CLASS_BULK);
        assertThat(acceptor.awaitInfo(30).getTrafficClass()).isEqualTo(TrafficClass.TRAFFIC_CLASS_BULK);
        opener.out.close();
        acceptor.out.close();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(value("invmux_session_class_sent_bytes_total", "class", "interactive"))
                    .isGreaterThanOrEqualTo(256 * 1024);
            assertThat(value("invmux_session_class_sent_bytes_total", "class", "redundant"))
                    .isGreaterThanOrEqualTo(256 * 1024);
        });
    }

    @Test
    void aClassTheApiDoesNotKnowIsRefusedNamingTheField() throws Exception {
        var opener = GrpcStream.open(channels.to(podA), StreamTarget.newBuilder().setPeer("pod-b").setService("x")
                .setTrafficClassValue(9).build());
        ErrorDetailsIT.assertFieldViolation(ErrorDetailsIT.details(opener.awaitError(30)), "open.traffic_class");
    }

    @Test
    void aRedundantForwardSendsEachByteTwiceAndDeliversItOnce() throws Exception {
        double copiedBefore = value("invmux_session_copied_bytes_total");
        double redundantBefore = value("invmux_session_class_sent_bytes_total", "class", "redundant");
        byte[] data = new byte[1024 * 1024];
        new Random(7).nextBytes(data);
        EchoServer.roundTrip(redundantPort, data);
        // Two links: every chunk of the stream A sends has a second copy on the other one.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(value("invmux_session_class_sent_bytes_total", "class", "redundant") - redundantBefore)
                    .isGreaterThanOrEqualTo(data.length);
            assertThat(value("invmux_session_copied_bytes_total") - copiedBefore).isGreaterThanOrEqualTo(data.length);
        });
    }
}
