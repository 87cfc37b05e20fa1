package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.invmux.fault.FaultProxy;
import io.invmux.server.Sidecar;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two workloads whose sidecars list each other as peers and dial each other through Services. A Service without
 * publishNotReadyAddresses routes only to pods whose readinessProbe passes: here each "Service" is a proxy that
 * refuses connections while its pod's probe fails, the probe asked every 100 ms as a kubelet would. Whether the
 * two ever meet depends on what the probe asks.
 */
class MutualPeersReadinessIT {
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ApiChannels channels = new ApiChannels();

    @AfterEach
    void stop() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        channels.close();
    }

    /** The probe of the shipped manifests (k8s/base): both pods become Ready and each gets its session. */
    @Test
    void twoSidecarsThatDialEachOtherThroughServicesBothGetTheirSessions() throws Exception {
        String probe = readinessProbeServiceOfTheBaseManifest();
        Pair pair = startPair(probe);
        await().atMost(Duration.ofSeconds(60)).until(() -> status(pair.a, Sidecar.READINESS) == ServingStatus.SERVING
                && status(pair.b, Sidecar.READINESS) == ServingStatus.SERVING);
        assertThat(pair.serviceOfA.everServing.get()).isTrue();
        assertThat(pair.serviceOfB.everServing.get()).isTrue();
    }

    /**
     * The deadlock, had the probe asked "readiness" (every configured peer has a session): each sidecar dials the
     * other's Service again and again, is refused each time, and neither ever becomes Ready.
     */
    @Test
    void aProbeThatWaitsForPeersDeadlocksTwoWorkloadsThatDialEachOther() throws Exception {
        Pair pair = startPair(Sidecar.READINESS);
        // Both have retried several times (backoff 250 ms, 500 ms, 1 s, ...) and been refused every time.
        await().atMost(Duration.ofSeconds(60)).until(() -> pair.serviceOfA.proxy.connectionsAccepted() >= 4
                && pair.serviceOfB.proxy.connectionsAccepted() >= 4);
        assertThat(pair.serviceOfA.everServing.get()).isFalse();
        assertThat(pair.serviceOfB.everServing.get()).isFalse();
        assertThat(status(pair.a, Sidecar.READINESS)).isEqualTo(ServingStatus.NOT_SERVING);
        assertThat(status(pair.b, Sidecar.READINESS)).isEqualTo(ServingStatus.NOT_SERVING);
        // what the shipped probe asks is up on both all along
        assertThat(status(pair.a, Sidecar.ACCEPTING)).isEqualTo(ServingStatus.SERVING);
        assertThat(status(pair.b, Sidecar.ACCEPTING)).isEqualTo(ServingStatus.SERVING);
    }

    private record Pair(SidecarProcess a, SidecarProcess b, Service serviceOfA, Service serviceOfB) {
    }

    private Pair startPair(String probeService) throws Exception {
        int linkA = SidecarProcess.freePort();
        int linkB = SidecarProcess.freePort();
        FaultProxy proxyA = track(FaultProxy.start(new InetSocketAddress("127.0.0.1", linkA)).refuse(true));
        FaultProxy proxyB = track(FaultProxy.start(new InetSocketAddress("127.0.0.1", linkB)).refuse(true));
        SidecarProcess a = track(SidecarProcess.start("pod-a", List.of("admin.address=",
                "listeners.0=tcp://127.0.0.1:" + linkA, "peers.0.name=pod-b", "peers.0.links.0.address="
                        + proxyB.uri()), List.of()));
        SidecarProcess b = track(SidecarProcess.start("pod-b", List.of("admin.address=",
                "listeners.0=tcp://127.0.0.1:" + linkB, "peers.0.name=pod-a", "peers.0.links.0.address="
                        + proxyA.uri()), List.of()));
        Service serviceOfA = track(new Service(proxyA, channels.to(a), probeService));
        Service serviceOfB = track(new Service(proxyB, channels.to(b), probeService));
        return new Pair(a, b, serviceOfA, serviceOfB);
    }

    /** A Service without publishNotReadyAddresses: new connections reach the pod only while its probe passes. */
    private static final class Service implements AutoCloseable {
        final FaultProxy proxy;
        final AtomicBoolean everServing = new AtomicBoolean();
        private final Thread prober;
        private volatile boolean closed;

        Service(FaultProxy proxy, ManagedChannel pod, String probeService) {
            this.proxy = proxy;
            this.prober = new Thread(() -> {
                while (!closed) {
                    boolean serving;
                    try {
                        serving = HealthGrpc.newBlockingStub(pod).withDeadlineAfter(2, TimeUnit.SECONDS)
                                .check(HealthCheckRequest.newBuilder().setService(probeService).build()).getStatus()
                                == ServingStatus.SERVING;
                    } catch (RuntimeException e) {
                        serving = false;
                    }
                    if (serving) {
                        everServing.set(true);
                    }
                    proxy.refuse(!serving);
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "probe-" + proxy.port());
            prober.setDaemon(true);
            prober.start();
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            prober.interrupt();
            prober.join(10_000);
        }
    }

    private <T extends AutoCloseable> T track(T resource) {
        resources.add(resource);
        return resource;
    }

    private ServingStatus status(SidecarProcess p, String service) {
        return HealthGrpc.newBlockingStub(channels.to(p)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    }

    private static String readinessProbeServiceOfTheBaseManifest() throws Exception {
        JsonNode d = new YAMLMapper().readTree(Path.of("../k8s/base/deployment.yaml").toFile());
        JsonNode sidecar = d.at("/spec/template/spec/initContainers/0");
        assertThat(sidecar.path("name").asText()).isEqualTo("invmux");
        return sidecar.at("/readinessProbe/grpc/service").asText();
    }
}
