package io.invmux.server.grpc;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.invmux.Connection;
import io.invmux.HealthState;
import io.invmux.Session;
import io.invmux.SessionStats;
import io.invmux.proto.v1.GetStatsRequest;
import io.invmux.proto.v1.GetStatsResponse;
import io.invmux.proto.v1.HealthSnapshot;
import io.invmux.proto.v1.LinkDown;
import io.invmux.proto.v1.LinkStateChange;
import io.invmux.proto.v1.LinkUp;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.QualitySample;
import io.invmux.proto.v1.SessionEvent;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import io.invmux.server.runtime.RuntimeListener;
import io.invmux.server.runtime.SidecarRuntime;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/** Health watch and stats. */
public final class MonitorServiceImpl extends MonitorServiceGrpc.MonitorServiceImplBase implements AutoCloseable {
    /** Events a watcher may fall behind by before its call is ended. */
    static final int MAX_QUEUED_EVENTS = 4096;
    private static final long MIN_INTERVAL_MILLIS = 100;

    private final SidecarRuntime runtime;
    private final LongSupplier forwardedConnections;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "invmux-watch");
        t.setDaemon(true);
        return t;
    });

    public MonitorServiceImpl(SidecarRuntime runtime, LongSupplier forwardedConnections) {
        this.runtime = runtime;
        this.forwardedConnections = forwardedConnections;
    }

    @Override
    public void getStats(GetStatsRequest req, StreamObserver<GetStatsResponse> out) {
        GetStatsResponse.Builder b = GetStatsResponse.newBuilder()
                .setForwardedConnections(forwardedConnections.getAsLong()).setRefusedLinks(runtime.refusedLinks());
        for (SidecarRuntime.Tracked t : runtime.sessions()) {
            b.addSessions(ProtoMapper.session(t));
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void watchHealth(WatchHealthRequest req, StreamObserver<WatchHealthResponse> responseObserver) {
        ServerCallStreamObserver<WatchHealthResponse> out =
                (ServerCallStreamObserver<WatchHealthResponse>) responseObserver;
        long intervalMillis = req.hasQualityInterval() ? req.getQualityInterval().getSeconds() * 1000
                + req.getQualityInterval().getNanos() / 1_000_000 : 0;
        if (intervalMillis < 0 || (intervalMillis > 0 && intervalMillis < MIN_INTERVAL_MILLIS)) {
            out.onError(Statuses.invalid("quality_interval", intervalMillis + " ms", "must be unset, 0 (no samples) "
                    + "or at least " + MIN_INTERVAL_MILLIS + " ms"));
            return;
        }
        if (!req.getSessionId().isEmpty() && runtime.session(req.getSessionId()) == null) {
            out.onError(Statuses.notFound("no session with id '" + req.getSessionId() + "'"));
            return;
        }
        new Watch(out, req.getSessionId(), intervalMillis).start();
    }

    /** One WatchHealth call: a snapshot, then events, sent only while the client keeps up. */
    private final class Watch implements RuntimeListener {
        private final ServerCallStreamObserver<WatchHealthResponse> out;
        private final String sessionFilter;
        private final long intervalMillis;
        private final ArrayDeque<WatchHealthResponse> queue = new ArrayDeque<>(); // guarded by this
        private boolean done; // guarded by this
        private ScheduledFuture<?> sampler;

        Watch(ServerCallStreamObserver<WatchHealthResponse> out, String sessionFilter, long intervalMillis) {
            this.out = out;
            this.sessionFilter = sessionFilter;
            this.intervalMillis = intervalMillis;
        }

        void start() {
            out.setOnCancelHandler(this::stop);
            out.setOnReadyHandler(this::drain);
            HealthSnapshot.Builder snapshot = HealthSnapshot.newBuilder();
            for (SidecarRuntime.Tracked t : runtime.sessions()) {
                if (wanted(t.session())) {
                    snapshot.addSessions(ProtoMapper.session(t));
                }
            }
            runtime.addListener(this);
            enqueue(message().setSnapshot(snapshot).build());
            if (intervalMillis > 0) {
                sampler = timer.scheduleAtFixedRate(this::sample, intervalMillis, intervalMillis,
                        TimeUnit.MILLISECONDS);
            }
        }

        private boolean wanted(Session s) {
            return sessionFilter.isEmpty() || sessionFilter.equals(s.id());
        }

        private WatchHealthResponse.Builder message() {
            Instant now = Instant.now();
            return WatchHealthResponse.newBuilder().setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond())
                    .setNanos(now.getNano()));
        }

        /** Quality samples are dropped, not queued, when the client is behind: the next one supersedes them. */
        private void sample() {
            if (!out.isReady()) {
                return;
            }
            for (SidecarRuntime.Tracked t : runtime.sessions()) {
                if (!wanted(t.session())) {
                    continue;
                }
                for (SessionStats.LinkStats l : t.session().stats().links()) {
                    enqueue(message().setQuality(QualitySample.newBuilder()
                            .setLink(ProtoMapper.link(t.session().id(), t.peer(), l))).build());
                }
            }
        }

        @Override
        public void sessionStarted(Session session, String peer) {
            SidecarRuntime.Tracked t = runtime.session(session.id());
            if (wanted(session) && t != null) {
                enqueue(message().setSession(SessionEvent.newBuilder().setKind(SessionEvent.Kind.KIND_STARTED)
                        .setSession(ProtoMapper.session(t))).build());
            }
        }

        @Override
        public void sessionEnded(Session session, String peer, String reason) {
            if (wanted(session)) {
                enqueue(message().setSession(SessionEvent.newBuilder().setKind(SessionEvent.Kind.KIND_ENDED)
                        .setSession(io.invmux.proto.v1.Session.newBuilder().setSessionId(session.id()).setPeer(peer))
                        .setReason(reason)).build());
            }
        }

        @Override
        public void linkStateChanged(Session session, String peer, Connection link, HealthState from,
                HealthState to) {
            if (!wanted(session)) {
                return;
            }
            io.invmux.proto.v1.Link l = ProtoMapper.link(session.id(), peer, link);
            if (from == HealthState.DEAD) {
                enqueue(message().setLinkUp(LinkUp.newBuilder().setLink(l)).build());
            } else if (to == HealthState.DEAD) {
                enqueue(message().setLinkDown(LinkDown.newBuilder().setLink(l.toBuilder()
                        .setState(ProtoMapper.state(HealthState.DEAD)))).build());
            } else {
                enqueue(message().setStateChange(LinkStateChange.newBuilder().setLink(l)
                        .setPrevious(ProtoMapper.state(from))).build());
            }
        }

        private void enqueue(WatchHealthResponse m) {
            boolean overflow;
            synchronized (this) {
                if (done) {
                    return;
                }
                queue.addLast(m);
                overflow = queue.size() > MAX_QUEUED_EVENTS;
            }
            if (overflow) {
                stop();
                synchronized (out) {
                    out.onError(Status.RESOURCE_EXHAUSTED.withDescription("health watcher fell more than "
                            + MAX_QUEUED_EVENTS + " events behind; watch again").asRuntimeException());
                }
                return;
            }
            drain();
        }

        private void drain() {
            synchronized (out) {
                while (out.isReady()) {
                    WatchHealthResponse m;
                    synchronized (this) {
                        if (done) {
                            return;
                        }
                        m = queue.pollFirst();
                    }
                    if (m == null) {
                        return;
                    }
                    out.onNext(m);
                }
            }
        }

        private void stop() {
            synchronized (this) {
                done = true;
                queue.clear();
            }
            runtime.removeListener(this);
            if (sampler != null) {
                sampler.cancel(false);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
