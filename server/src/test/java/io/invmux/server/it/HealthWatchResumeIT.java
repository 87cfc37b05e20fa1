package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.invmux.proto.v1.CloseSessionRequest;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.ResyncReason;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * WatchHealth resumes: events are numbered within the sidecar's epoch; a watch that resumes after the last number
 * it saw gets exactly the events it missed, in order; when they are older than the ring, or the sidecar is another
 * run (restarted), the first message is a snapshot saying so. pod-a watches and dials; pod-b accepts links.
 */
@Timeout(300)
class HealthWatchResumeIT {
    private static final int RING = 1024;
    private static final ApiChannels channels = new ApiChannels();
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static String linksToB;
    private static int peers;
    private static ManagedChannel apiA;

    @BeforeAll
    static void start() throws Exception {
        linksToB = "tcp://127.0.0.1:" + SidecarProcess.freePort();
        podB = SidecarProcess.start("resume-b", List.of("admin.address=", "listeners.0=" + linksToB), List.of());
        podA = startA();
    }

    private static SidecarProcess startA() throws Exception {
        return SidecarProcess.start("resume-a", List.of("admin.address=", "listeners=[]"), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        channels.close();
        assertThat(podA.stop()).isZero();
        assertThat(podB.stop()).isZero();
    }

    /** One watch call; its messages queue up as they come. */
    static final class Watch implements ClientResponseObserver<WatchHealthRequest, WatchHealthResponse> {
        final LinkedBlockingQueue<Object> messages = new LinkedBlockingQueue<>();
        private volatile ClientCallStreamObserver<WatchHealthRequest> call;

        static Watch of(ManagedChannel ch, WatchHealthRequest req) {
            Watch w = new Watch();
            MonitorServiceGrpc.newStub(ch).watchHealth(req, w);
            return w;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<WatchHealthRequest> requestStream) {
            call = requestStream;
        }

        @Override
        public void onNext(WatchHealthResponse value) {
            messages.add(value);
        }

        @Override
        public void onError(Throwable t) {
            messages.add(t);
        }

        @Override
        public void onCompleted() {
            messages.add("completed");
        }

        WatchHealthResponse next() throws InterruptedException {
            Object o = messages.poll(30, TimeUnit.SECONDS);
            assertThat(o).as("the next watch message").isInstanceOf(WatchHealthResponse.class);
            return (WatchHealthResponse) o;
        }

        /** The next numbered message (quality samples are not numbered; none are asked for here). */
        WatchHealthResponse nextEvent() throws InterruptedException {
            WatchHealthResponse m = next();
            assertThat(m.getSequence()).as("sequence of " + m).isPositive();
            return m;
        }

        void cancel() {
            call.cancel("done", null);
        }
    }

    /** A channel to the running pod-a (a new one after a restart). */
    private static synchronized ManagedChannel apiA() {
        if (apiA == null) {
            apiA = channels.to(podA);
        }
        return apiA;
    }

    /** A new session of pod-a with pod-b: a session event and a link event, at least. */
    private static Link newSession() {
        return ConnectionServiceGrpc.newBlockingStub(apiA()).withDeadlineAfter(30, TimeUnit.SECONDS)
                .dialLink(DialLinkRequest.newBuilder().setPeer("resume-" + (++peers)).setAddress(linksToB).build())
                .getLink();
    }

    private static void closeSession(String sessionId) {
        ConnectionServiceGrpc.newBlockingStub(apiA()).withDeadlineAfter(30, TimeUnit.SECONDS)
                .closeSession(CloseSessionRequest.newBuilder().setSessionId(sessionId).build());
    }

    /** The last sequence and epoch pod-a has given: what a new watch's snapshot says. */
    private static WatchHealthResponse snapshotNow() throws InterruptedException {
        Watch w = Watch.of(apiA(), WatchHealthRequest.getDefaultInstance());
        try {
            WatchHealthResponse s = w.next();
            assertThat(s.hasSnapshot()).isTrue();
            return s;
        } finally {
            w.cancel();
        }
    }

    private static WatchHealthRequest resume(String epoch, long after) {
        return WatchHealthRequest.newBuilder().setResumeEpoch(epoch).setResumeAfterSequence(after).build();
    }

    @Test
    void aResumedWatchGetsExactlyTheEventsItMissedInOrder() throws Exception {
        Watch w = Watch.of(apiA(), WatchHealthRequest.getDefaultInstance());
        WatchHealthResponse snapshot = w.next();
        assertThat(snapshot.hasSnapshot()).isTrue();
        assertThat(snapshot.getSnapshot().getResyncReason()).isEqualTo(ResyncReason.RESYNC_REASON_UNSPECIFIED);
        String epoch = snapshot.getEpoch();
        assertThat(epoch).isNotEmpty();
        Link first = newSession();
        WatchHealthResponse seen = w.nextEvent();
        assertThat(seen.getSequence()).isGreaterThan(snapshot.getSequence());
        assertThat(seen.getEpoch()).isEqualTo(epoch);
        w.cancel();

        // Missed while away: the rest of the first session's events, and a second session's.
        Link second = newSession();
        closeSession(first.getSessionId());
        long last = snapshotNow().getSequence();
        assertThat(last).isGreaterThan(seen.getSequence());

        Watch resumed = Watch.of(apiA(), resume(epoch, seen.getSequence()));
        List<WatchHealthResponse> replay = new ArrayList<>();
        while (replay.isEmpty() || replay.get(replay.size() - 1).getSequence() < last) {
            replay.add(resumed.nextEvent());
        }
        resumed.cancel();
        assertThat(replay).extracting(WatchHealthResponse::getSequence)
                .as("every number after the one seen, once, in order")
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(seen.getSequence() + 1, last)
                        .boxed().toList());
        assertThat(replay).noneMatch(WatchHealthResponse::hasSnapshot);
        assertThat(replay).anyMatch(m -> m.hasSession() && m.getSession().getSession().getSessionId()
                .equals(second.getSessionId()));
        assertThat(replay).anyMatch(m -> m.hasSession() && m.getSession().getSession().getSessionId()
                .equals(first.getSessionId()) && m.getSession().getKind()
                        == io.invmux.proto.v1.SessionEvent.Kind.KIND_ENDED);
        closeSession(second.getSessionId());
    }

    @Test
    void aWatcherFurtherBehindThanTheRingGetsASnapshotSayingTheEventsExpired() throws Exception {
        WatchHealthResponse before = snapshotNow();
        long from = before.getSequence();
        while (snapshotNow().getSequence() <= from + RING + 1) {
            for (int i = 0; i < 50; i++) {
                closeSession(newSession().getSessionId());
            }
        }
        Watch w = Watch.of(apiA(), resume(before.getEpoch(), from));
        WatchHealthResponse m = w.next();
        w.cancel();
        assertThat(m.hasSnapshot()).isTrue();
        assertThat(m.getSnapshot().getResyncReason()).isEqualTo(ResyncReason.RESYNC_REASON_EVENTS_EXPIRED);
        assertThat(m.getSnapshot().getMissedAfterSequence()).isEqualTo(from);
        assertThat(m.getSequence()).isGreaterThan(from + RING);
    }

    @Test
    void aNumberThisRunNeverGaveIsTreatedAsAnotherRun() throws Exception {
        WatchHealthResponse now = snapshotNow();
        Watch w = Watch.of(apiA(), resume(now.getEpoch(), now.getSequence() + 1_000_000));
        WatchHealthResponse m = w.next();
        w.cancel();
        assertThat(m.getSnapshot().getResyncReason()).isEqualTo(ResyncReason.RESYNC_REASON_SIDECAR_RESTARTED);
    }

    @Test
    void aSequenceWithoutAnEpochIsRefusedNamingTheEpochField() throws Exception {
        Watch w = Watch.of(apiA(), WatchHealthRequest.newBuilder().setResumeAfterSequence(3).build());
        Object o = w.messages.poll(30, TimeUnit.SECONDS);
        assertThat(o).isInstanceOf(Throwable.class);
        ErrorDetailsIT.assertFieldViolation(ErrorDetailsIT.details((Throwable) o), "resume_epoch");
    }

    @Test
    void afterARestartAResumedWatchIsToldTheSidecarRestarted() throws Exception {
        Link l = newSession();
        WatchHealthResponse before = snapshotNow();
        closeSession(l.getSessionId());
        assertThat(podA.stop()).isZero();
        podA = startA();
        synchronized (HealthWatchResumeIT.class) {
            apiA = null;
        }
        Watch w = Watch.of(apiA(), resume(before.getEpoch(), before.getSequence()));
        WatchHealthResponse m = w.next();
        w.cancel();
        assertThat(m.hasSnapshot()).isTrue();
        assertThat(m.getSnapshot().getResyncReason()).isEqualTo(ResyncReason.RESYNC_REASON_SIDECAR_RESTARTED);
        assertThat(m.getSnapshot().getMissedAfterSequence()).isEqualTo(before.getSequence());
        assertThat(m.getEpoch()).isNotEqualTo(before.getEpoch());
        assertThat(m.getSnapshot().getSessionsList()).as("the new run has no session yet").isEmpty();
    }
}
