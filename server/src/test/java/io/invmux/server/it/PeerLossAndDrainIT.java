package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How streams end when they cannot finish: the peer's sidecar dies (no link comes back within the resume grace),
 * or a graceful stop reaches its drain deadline with a stream still open. Two sidecar processes.
 */
@Timeout(120)
class PeerLossAndDrainIT {
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final ApiChannels channels = new ApiChannels();
    private SidecarProcess podA;
    private SidecarProcess podB;

    /** pod-b listens, pod-a dials it over two links; {@code aSettings} are added to pod-a's. */
    private void start(String... aSettings) throws Exception {
        int linkPort = SidecarProcess.freePort();
        podB = SidecarProcess.start("pod-b", List.of("admin.address=", "listeners.0=tcp://127.0.0.1:" + linkPort),
                List.of());
        List<String> a = new ArrayList<>(List.of("admin.address=", "listeners=[]", "peers.0.name=pod-b",
                "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                "peers.0.links.1.address=tcp://127.0.0.1:" + linkPort));
        a.addAll(List.of(aSettings));
        podA = SidecarProcess.start("pod-a", a, List.of());
        await().atMost(Duration.ofSeconds(30)).until(() -> readiness(podA) == ServingStatus.SERVING);
    }

    @AfterEach
    void stop() throws Exception {
        channels.close();
        for (SidecarProcess p : new SidecarProcess[] {podA, podB}) {
            if (p != null && p.isAlive()) {
                p.stop();
            }
        }
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private ServingStatus readiness(SidecarProcess p) {
        return HealthGrpc.newBlockingStub(channels.to(p)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("readiness").build()).getStatus();
    }

    @Test
    void aStreamWhosePeerSidecarDiesEndsUnavailableAfterTheResumeGrace() throws Exception {
        start("limits.resumeGracePeriod=2s");
        var joined = GrpcStream.join(channels.to(podA), channels.to(podB), "pod-b", "svc");
        var opener = joined.opener();
        var acceptor = joined.acceptor();
        opener.out.write(new byte[64 * 1024]);
        assertThat(acceptor.in.readNBytes(64 * 1024)).hasSize(64 * 1024);

        podB.kill();
        // Both links are gone and none comes back: once the grace is over the session is lost, and the stream
        // with it. The application is told UNAVAILABLE, not left waiting.
        Status ended = opener.awaitFailure(60);
        assertThat(ended.getCode()).as(ended.toString()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(ended.getDescription()).isNotBlank();
        // pod-a itself carries on: it answers, and a new stream to the dead peer is refused the same way.
        assertThat(GrpcStream.open(channels.to(podA), "pod-b", "svc").awaitFailure(60).getCode())
                .isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(readiness(podA)).isEqualTo(ServingStatus.NOT_SERVING);
    }

    @Test
    void aStreamStillOpenAtTheDrainDeadlineIsEndedAndTheSidecarExitsZero() throws Exception {
        start("limits.drainTimeout=2s");
        var joined = GrpcStream.join(channels.to(podA), channels.to(podB), "pod-b", "svc");
        var opener = joined.opener();
        var acceptor = joined.acceptor();
        ManagedChannel probe = channels.to(podA);

        long sigterm = System.nanoTime();
        Future<Integer> exit = pool.submit(() -> podA.stop());
        podA.awaitLine("draining", 20);
        // While it drains, pod-a says it is not ready, so traffic is steered away from it: to the app, and to the
        // kubelet's readinessProbe ("accepting").
        for (String service : List.of("readiness", "accepting")) {
            assertThat(HealthGrpc.newBlockingStub(probe).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus())
                    .as(service).isEqualTo(ServingStatus.NOT_SERVING);
        }
        // Nobody finishes the stream: the deadline ends it, at both ends, and the process still exits 0.
        assertThat(exit.get(60, TimeUnit.SECONDS)).isZero();
        assertThat(System.nanoTime() - sigterm).as("exit after the 2 s deadline, not the 20 s default")
                .isLessThan(TimeUnit.SECONDS.toNanos(15));
        assertThat(podA.output()).anyMatch(l -> l.contains("still open at the drain deadline"));
        assertThat(opener.awaitFailure(30).getCode()).isNotEqualTo(Status.Code.OK);
        assertThat(acceptor.awaitFailure(60).getCode()).as("the peer's end of the stream ends too")
                .isNotEqualTo(Status.Code.OK);
    }
}
