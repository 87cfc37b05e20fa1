package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.Timestamps;
import io.grpc.stub.StreamObserver;
import io.invmux.fault.FaultProxy;
import io.invmux.proto.v1.CloseSessionRequest;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.LinkState;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.SessionEvent;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * WatchHealth against sidecar processes: quality samples at the interval asked for, a link's
 * state change when its path gets slow, and session events when a session ends and the configured peer is dialed
 * again. pod-a's second link to pod-b goes through a {@link FaultProxy}.
 */
@Timeout(120)
class HealthWatchIT {
    private static final ApiChannels channels = new ApiChannels();
    private static io.grpc.ManagedChannel apiA;
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static SidecarProcess podC;
    private static FaultProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        int linkPort = SidecarProcess.freePort();
        podB = SidecarProcess.start("pod-b", List.of("admin.address=", "listeners.0=tcp://127.0.0.1:" + linkPort),
                List.of());
        proxy = FaultProxy.start(new InetSocketAddress("127.0.0.1", linkPort));
        podA = SidecarProcess.start("pod-a", List.of("admin.address=", "listeners=[]", "peers.0.name=pod-b",
                "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                "peers.0.links.1.address=tcp://127.0.0.1:" + proxy.port()), List.of());
        apiA = channels.to(podA);
        // pod-c gives pod-b a second session, for the session filter.
        podC = SidecarProcess.start("pod-c", List.of("admin.address=", "listeners=[]", "peers.0.name=pod-b",
                "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort), List.of());
        await().atMost(Duration.ofSeconds(30)).until(() -> sessionOfA() != null
                && sessionOfA().getLinksCount() == 2 && sessions(podC).size() == 1);
    }

    @AfterAll
    static void stop() throws Exception {
        channels.close();
        assertThat(podA.stop()).isZero();
        assertThat(podC.stop()).isZero();
        assertThat(podB.stop()).isZero();
        proxy.close();
    }

    private static io.invmux.proto.v1.Session sessionOfA() {
        var sessions = ConnectionServiceGrpc.newBlockingStub(apiA)
                .listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList();
        return sessions.isEmpty() ? null : sessions.get(0);
    }

    private static List<io.invmux.proto.v1.Session> sessions(SidecarProcess p) {
        return ConnectionServiceGrpc.newBlockingStub(channels.to(p)).withDeadlineAfter(10, TimeUnit.SECONDS)
                .listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList();
    }

    /** Watches pod-a's health; every event lands in the returned list. */
    private static List<WatchHealthResponse> watch(WatchHealthRequest request) {
        return watch(apiA, request);
    }

    private static List<WatchHealthResponse> watch(io.grpc.ManagedChannel api, WatchHealthRequest request) {
        List<WatchHealthResponse> events = new CopyOnWriteArrayList<>();
        MonitorServiceGrpc.newStub(api).watchHealth(request, new StreamObserver<>() {
            @Override
            public void onNext(WatchHealthResponse value) {
                events.add(value);
            }

            @Override
            public void onError(Throwable t) {
                // the channel is shut down at the end
            }

            @Override
            public void onCompleted() {
            }
        });
        return events;
    }

    @Test
    void samplesComeAtTheIntervalAndASlowPathChangesItsLinksState() {
        String session = sessionOfA().getSessionId();
        String proxied = sessionOfA().getLinksList().stream()
                .filter(l -> l.getRemoteAddress().endsWith(":" + proxy.port())).findFirst().orElseThrow().getLinkId();
        List<WatchHealthResponse> events = watch(WatchHealthRequest.newBuilder().setSessionId(session)
                .setQualityInterval(com.google.protobuf.Duration.newBuilder().setNanos(300_000_000)).build());
        await().atMost(Duration.ofSeconds(20)).until(() -> samplesOf(events, proxied).size() >= 8);
        assertThat(events.get(0).getSnapshot().getSessionsList()).singleElement()
                .satisfies(s -> assertThat(s.getSessionId()).isEqualTo(session));
        List<Long> times = samplesOf(events, proxied);
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < times.size(); i++) {
            gaps.add(times.get(i) - times.get(i - 1));
        }
        gaps.sort(null);
        assertThat(gaps.get(gaps.size() / 2)).as("median ms between samples of one link, 300 asked")
                .isBetween(200L, 450L);

        // 300 ms each way is over the default 500 ms latency limit, and under the keep-alive timeout: the link
        // stays up but is no longer healthy.
        int before = events.size();
        proxy.delay(Duration.ofMillis(300));
        try {
            // (A link may also have changed state before, while the JVMs warmed up: only what follows counts.)
            await().atMost(Duration.ofSeconds(30)).until(() -> stateChangesOf(events.subList(before, events.size()),
                    proxied).stream().anyMatch(c -> c.getPrevious() == LinkState.LINK_STATE_HEALTHY));
            var change = stateChangesOf(events.subList(before, events.size()), proxied).stream()
                    .filter(c -> c.getPrevious() == LinkState.LINK_STATE_HEALTHY).findFirst().orElseThrow();
            assertThat(change.getLink().getState()).isIn(LinkState.LINK_STATE_DEGRADED,
                    LinkState.LINK_STATE_UNHEALTHY);
        } finally {
            proxy.delay(Duration.ZERO);
        }
    }

    @Test
    void aClosedSessionEndsAndTheConfiguredPeersNextOneStarts() {
        String session = sessionOfA().getSessionId();
        List<WatchHealthResponse> events = watch(WatchHealthRequest.getDefaultInstance());
        await().atMost(Duration.ofSeconds(10)).until(() -> !events.isEmpty());
        ConnectionServiceGrpc.newBlockingStub(apiA)
                .closeSession(CloseSessionRequest.newBuilder().setSessionId(session).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> events.stream().anyMatch(e -> e.hasSession()
                && e.getSession().getKind() == SessionEvent.Kind.KIND_STARTED));
        List<SessionEvent> kinds = events.stream().filter(WatchHealthResponse::hasSession)
                .map(WatchHealthResponse::getSession).toList();
        assertThat(kinds.get(0).getKind()).isEqualTo(SessionEvent.Kind.KIND_ENDED);
        assertThat(kinds.get(0).getSession().getSessionId()).isEqualTo(session);
        SessionEvent started = kinds.stream().filter(k -> k.getKind() == SessionEvent.Kind.KIND_STARTED)
                .findFirst().orElseThrow();
        assertThat(started.getSession().getPeer()).isEqualTo("pod-b");
        assertThat(started.getSession().getSessionId()).isNotEqualTo(session);
        await().atMost(Duration.ofSeconds(30)).until(() -> sessionOfA() != null
                && sessionOfA().getLinksCount() == 2);
    }

    @Test
    void aWatchOfOneSessionSeesThatSessionAlone() {
        // pod-b has two sessions, with pod-a and with pod-c (session ids are the same at both ends).
        String withC = sessions(podC).get(0).getSessionId();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(sessions(podB))
                .extracting(io.invmux.proto.v1.Session::getSessionId).hasSize(2).contains(withC));
        List<WatchHealthResponse> events = watch(channels.to(podB), WatchHealthRequest.newBuilder()
                .setSessionId(withC).setQualityInterval(com.google.protobuf.Duration.newBuilder()
                        .setNanos(200_000_000)).build());
        await().atMost(Duration.ofSeconds(20)).until(() -> events.stream().filter(WatchHealthResponse::hasQuality)
                .count() >= 6);
        assertThat(events.get(0).getSnapshot().getSessionsList()).extracting(io.invmux.proto.v1.Session::getSessionId)
                .containsExactly(withC);
        assertThat(events.stream().filter(WatchHealthResponse::hasQuality))
                .allSatisfy(e -> assertThat(e.getQuality().getLink().getSessionId()).isEqualTo(withC));
    }

    /** Times (ms) of the quality samples of one link. */
    private static List<Long> samplesOf(List<WatchHealthResponse> events, String linkId) {
        return events.stream().filter(e -> e.hasQuality() && e.getQuality().getLink().getLinkId().equals(linkId))
                .map(e -> Timestamps.toMillis(e.getTime())).toList();
    }

    private static List<io.invmux.proto.v1.LinkStateChange> stateChangesOf(List<WatchHealthResponse> events,
            String linkId) {
        return events.stream().filter(e -> e.hasStateChange()
                && e.getStateChange().getLink().getLinkId().equals(linkId)).map(WatchHealthResponse::getStateChange)
                .toList();
    }
}
