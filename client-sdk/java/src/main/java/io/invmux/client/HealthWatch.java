package io.invmux.client;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A running health watch ({@link InvMuxClient#watchHealth(WatchOptions, HealthListener)}): one WatchHealth call
 * at a time, opened again with backoff when it breaks, resuming after the last event delivered (its epoch and
 * sequence): the sidecar replays what was missed, or starts with a snapshot whose {@code resync_reason} says why it
 * cannot (the events expired, the sidecar restarted). {@link #close()} ends it.
 */
public final class HealthWatch implements AutoCloseable {
    static final long MIN_BACKOFF_MILLIS = 100;
    static final long MAX_BACKOFF_MILLIS = 5_000;
    private static final Set<Status.Code> RETRYABLE = EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.CANCELLED,
            Status.Code.RESOURCE_EXHAUSTED, Status.Code.INTERNAL, Status.Code.UNKNOWN, Status.Code.ABORTED,
            Status.Code.DEADLINE_EXCEEDED);

    /** Where events go. */
    interface Sink {
        /** An event; {@code next} asks for the next one (call it once the event was consumed). */
        void event(WatchHealthResponse event, Runnable next);

        void reconnecting(InvMuxException cause, Duration delay);

        void error(InvMuxException error);
    }

    private final MonitorServiceGrpc.MonitorServiceStub monitor;
    private final ManagedChannel channel;
    private final ScheduledExecutorService scheduler;
    private final WatchHealthRequest request;
    private final boolean resubscribe;
    private final Sink sink;
    private volatile boolean closed;
    private volatile long delayMillis = MIN_BACKOFF_MILLIS;
    // written by the call's thread as events are delivered, read when resubscribing (after that call ended)
    private volatile String lastEpoch = "";
    private volatile long lastSequence;
    // guarded by this
    private ClientCallStreamObserver<WatchHealthRequest> call;
    private ScheduledFuture<?> retry;

    HealthWatch(MonitorServiceGrpc.MonitorServiceStub monitor, ManagedChannel channel,
            ScheduledExecutorService scheduler, WatchHealthRequest request, boolean resubscribe, Sink sink) {
        this.monitor = monitor;
        this.channel = channel;
        this.scheduler = scheduler;
        this.request = request;
        this.resubscribe = resubscribe;
        this.sink = sink;
    }

    static boolean retryable(Status.Code code) {
        return RETRYABLE.contains(code);
    }

    synchronized void subscribe() {
        if (closed) {
            return;
        }
        // reconnect now (not after the channel's own backoff, which grows to minutes): the call below then waits
        // for that attempt instead of failing at once
        channel.resetConnectBackoff();
        WatchHealthRequest r = lastEpoch.isEmpty() ? request
                : request.toBuilder().setResumeEpoch(lastEpoch).setResumeAfterSequence(lastSequence).build();
        monitor.watchHealth(r, new ClientResponseObserver<WatchHealthRequest, WatchHealthResponse>() {
            private ClientCallStreamObserver<WatchHealthRequest> rs;

            @Override
            public void beforeStart(ClientCallStreamObserver<WatchHealthRequest> requestStream) {
                rs = requestStream;
                requestStream.disableAutoRequestWithInitial(1);
                call = requestStream;
            }

            @Override
            public void onNext(WatchHealthResponse event) {
                if (closed) {
                    return;
                }
                delayMillis = MIN_BACKOFF_MILLIS; // the sidecar answers again
                if (event.getSequence() > 0 || event.hasSnapshot()) { // quality samples are not numbered
                    lastEpoch = event.getEpoch();
                    lastSequence = event.getSequence();
                }
                sink.event(event, () -> rs.request(1));
            }

            @Override
            public void onError(Throwable t) {
                broken(InvMuxException.from(t));
            }

            @Override
            public void onCompleted() {
                broken(new InvMuxException(Status.UNAVAILABLE.withDescription("the sidecar ended the watch")));
            }
        });
    }

    private void broken(InvMuxException e) {
        if (closed) {
            return;
        }
        if (!resubscribe || !retryable(e.code())) {
            closed = true;
            sink.error(e);
            return;
        }
        long d = delayMillis;
        delayMillis = Math.min(d * 2, MAX_BACKOFF_MILLIS);
        sink.reconnecting(e, Duration.ofMillis(d));
        synchronized (this) {
            if (!closed) {
                try {
                    retry = scheduler.schedule(this::subscribe, d, TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException closing) { // the client is closed
                    closed = true;
                }
            }
        }
    }

    /** Whether the watch has ended (closed, or failed for good). */
    public boolean isClosed() {
        return closed;
    }

    /** Ends the watch. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        if (retry != null) {
            retry.cancel(false);
        }
        if (call != null) {
            call.cancel("health watch closed", null);
        }
    }
}
