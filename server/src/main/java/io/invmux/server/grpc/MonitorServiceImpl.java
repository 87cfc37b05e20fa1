package io.invmux.server.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.invmux.SessionStats;
import io.invmux.proto.v1.ErrorReason;
import io.invmux.proto.v1.GetStatsRequest;
import io.invmux.proto.v1.GetStatsResponse;
import io.invmux.proto.v1.HealthSnapshot;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.QualitySample;
import io.invmux.proto.v1.ResyncReason;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import io.invmux.server.runtime.SidecarRuntime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/** Health watch and stats. */
public final class MonitorServiceImpl extends MonitorServiceGrpc.MonitorServiceImplBase implements AutoCloseable {
    /** Events a watcher may fall behind by before its call is ended. */
    static final int MAX_QUEUED_EVENTS = 4096;
    private static final long MIN_INTERVAL_MILLIS = 100;

    private final SidecarRuntime runtime;
    private final LongSupplier forwardedConnections;
    /** Every health event of this run, numbered, the last ones kept for watches that resume. */
    private final HealthEventLog events;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "invmux-watch");
        t.setDaemon(true);
        return t;
    });

    public MonitorServiceImpl(SidecarRuntime runtime, LongSupplier forwardedConnections) {
        this.runtime = runtime;
        this.forwardedConnections = forwardedConnections;
        this.events = new HealthEventLog(runtime);
        runtime.addListener(events);
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
        boolean resume = !req.getResumeEpoch().isEmpty();
        if (!resume && req.getResumeAfterSequence() != 0) {
            out.onError(Statuses.invalid("resume_epoch", "", "must be set with resume_after_sequence: the epoch of "
                    + "the sidecar that sent that sequence"));
            return;
        }
        // A resumed watch of one session may find it gone: the replay tells how it ended.
        if (!resume && !req.getSessionId().isEmpty() && runtime.session(req.getSessionId()) == null) {
            out.onError(Statuses.notFound(ErrorReason.ERROR_REASON_SESSION_UNKNOWN, "no session with id '"
                    + req.getSessionId() + "'", "session_id", req.getSessionId()));
            return;
        }
        new Watch(out, req.getSessionId(), intervalMillis).start(req);
    }

    /**
     * One WatchHealth call: a snapshot (or, resuming, the events it missed), then events, sent only while the
     * client keeps up. Events come from the {@link HealthEventLog} under its lock; those that arrive before the
     * first messages are in the queue wait in {@code early}, so the call sends them in number order.
     */
    private final class Watch {
        private final ServerCallStreamObserver<WatchHealthResponse> out;
        private final String sessionFilter;
        private final long intervalMillis;
        private final ArrayDeque<WatchHealthResponse> queue = new ArrayDeque<>(); // guarded by this
        private final List<WatchHealthResponse> early = new ArrayList<>(); // guarded by this
        private boolean started; // guarded by this
        private boolean done; // guarded by this
        private final Consumer<HealthEventLog.Event> subscriber = this::onEvent;
        private volatile ScheduledFuture<?> sampler;

        Watch(ServerCallStreamObserver<WatchHealthResponse> out, String sessionFilter, long intervalMillis) {
            this.out = out;
            this.sessionFilter = sessionFilter;
            this.intervalMillis = intervalMillis;
        }

        void start(WatchHealthRequest req) {
            out.setOnCancelHandler(this::stop);
            out.setOnReadyHandler(this::drain);
            boolean resume = !req.getResumeEpoch().isEmpty();
            boolean sameRun = resume && req.getResumeEpoch().equals(events.epoch());
            HealthEventLog.Start from = events.subscribe(subscriber, sameRun ? req.getResumeAfterSequence() : -1);
            List<WatchHealthResponse> first = new ArrayList<>();
            if (sameRun && req.getResumeAfterSequence() > from.lastSequence()) {
                // A number this run never gave: not the history the watcher knows.
                first.add(snapshot(from.lastSequence(), ResyncReason.RESYNC_REASON_SIDECAR_RESTARTED, req));
            } else if (sameRun && !from.expired()) {
                from.replay().stream().filter(e -> wanted(e.sessionId())).forEach(e -> first.add(e.message()));
            } else {
                first.add(snapshot(from.lastSequence(), !resume ? ResyncReason.RESYNC_REASON_UNSPECIFIED
                        : sameRun ? ResyncReason.RESYNC_REASON_EVENTS_EXPIRED
                        : ResyncReason.RESYNC_REASON_SIDECAR_RESTARTED, req));
            }
            List<WatchHealthResponse> live;
            synchronized (this) {
                started = true;
                live = new ArrayList<>(early);
                early.clear();
            }
            first.addAll(live);
            enqueue(first);
            if (intervalMillis > 0) {
                sampler = timer.scheduleAtFixedRate(this::sample, intervalMillis, intervalMillis,
                        TimeUnit.MILLISECONDS);
                if (isDone()) {
                    sampler.cancel(false);
                }
            }
        }

        private WatchHealthResponse snapshot(long sequence, ResyncReason reason, WatchHealthRequest req) {
            HealthSnapshot.Builder snapshot = HealthSnapshot.newBuilder().setResyncReason(reason);
            if (reason != ResyncReason.RESYNC_REASON_UNSPECIFIED) {
                snapshot.setMissedAfterSequence(req.getResumeAfterSequence());
            }
            for (SidecarRuntime.Tracked t : runtime.sessions()) {
                if (wanted(t.session().id())) {
                    snapshot.addSessions(ProtoMapper.session(t));
                }
            }
            return events.message().setSequence(sequence).setSnapshot(snapshot).build();
        }

        private boolean wanted(String sessionId) {
            return sessionFilter.isEmpty() || sessionFilter.equals(sessionId);
        }

        private synchronized boolean isDone() {
            return done;
        }

        /** Called under the event log's lock. */
        private void onEvent(HealthEventLog.Event e) {
            if (!wanted(e.sessionId())) {
                return;
            }
            synchronized (this) {
                if (!started) {
                    early.add(e.message());
                    return;
                }
            }
            enqueue(List.of(e.message()));
        }

        /** Quality samples are dropped, not queued, when the client is behind: the next one supersedes them. */
        private void sample() {
            if (!out.isReady()) {
                return;
            }
            List<WatchHealthResponse> samples = new ArrayList<>();
            for (SidecarRuntime.Tracked t : runtime.sessions()) {
                if (!wanted(t.session().id())) {
                    continue;
                }
                for (SessionStats.LinkStats l : t.session().stats().links()) {
                    samples.add(events.message().setQuality(QualitySample.newBuilder()
                            .setLink(ProtoMapper.link(t.session().id(), t.peer(), l))).build());
                }
            }
            enqueue(samples);
        }

        private void enqueue(List<WatchHealthResponse> messages) {
            boolean overflow;
            synchronized (this) {
                if (done) {
                    return;
                }
                queue.addAll(messages);
                overflow = queue.size() > MAX_QUEUED_EVENTS;
            }
            if (overflow) {
                stop();
                synchronized (out) {
                    out.onError(ApiError.of(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_WATCH_FELL_BEHIND,
                            "health watcher fell more than " + MAX_QUEUED_EVENTS + " events behind; watch again, "
                            + "resuming after the last sequence received").with("limit",
                            String.valueOf(MAX_QUEUED_EVENTS)).retryAfter(java.time.Duration.ZERO).asException());
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
                early.clear();
            }
            events.unsubscribe(subscriber);
            ScheduledFuture<?> s = sampler;
            if (s != null) {
                s.cancel(false);
            }
        }
    }

    @Override
    public void close() {
        runtime.removeListener(events);
        timer.shutdownNow();
    }
}
