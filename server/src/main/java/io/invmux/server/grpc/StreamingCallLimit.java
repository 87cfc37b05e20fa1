package io.invmux.server.grpc;

import io.grpc.Attributes;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.invmux.proto.v1.ErrorReason;
import io.invmux.server.admin.Bounds;
import io.invmux.server.admin.PerKeyLimit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code api.maxStreamsPerClient}: how many streaming calls (streams opened or accepted, health watches) one
 * client may hold at once, over all its connections: a client is a {@link ClientIdentity} (peer uid on the Unix
 * socket, remote address on TCP), so opening more connections does not buy more calls. The call over the limit is
 * refused at once with RESOURCE_EXHAUSTED naming the limit. HTTP/2's own SETTINGS_MAX_CONCURRENT_STREAMS would not
 * do: a client queues calls over it silently, so a leaking application would hang instead of being told. Unary
 * calls are not counted.
 *
 * <p>Each connection's client key lives in its transport attributes, put there by {@link #transportFilter()}; the
 * counts, by key, in a {@link PerKeyLimit}. Calls start and end on any thread.
 */
public final class StreamingCallLimit implements ServerInterceptor {
    static final String BOUND = "api.maxStreamsPerClient";
    private static final Attributes.Key<String> CLIENT = Attributes.Key.create("invmux.client");

    private final int limit;
    private final ClientIdentity identity;
    private final Bounds bounds;
    /** Open streaming calls by client key. */
    private final PerKeyLimit open;
    /** Numbers the connections whose client cannot be told, each then a client of its own. */
    private final AtomicLong anonymous = new AtomicLong();

    public StreamingCallLimit(int limit, ClientIdentity identity, Bounds bounds) {
        this.limit = limit;
        this.identity = identity;
        this.bounds = bounds;
        this.open = new PerKeyLimit(limit);
        bounds.gauge("invmux_api_streaming_calls", "Streaming API calls open, over all clients.", open::total);
        bounds.gauge("invmux_api_streaming_clients", "Clients (peer uid or remote address) holding streaming API "
                + "calls.", open::keys);
    }

    /** Tells every new client connection which client it belongs to. */
    public ServerTransportFilter transportFilter() {
        return new ServerTransportFilter() {
            @Override
            public Attributes transportReady(Attributes transportAttrs) {
                String client = identity.of(transportAttrs);
                if (client == null) {
                    client = "connection " + anonymous.incrementAndGet();
                }
                return transportAttrs.toBuilder().set(CLIENT, client).build();
            }
        };
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        String client = call.getAttributes().get(CLIENT);
        if (client == null || call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY) {
            return next.startCall(call, headers);
        }
        if (!open.tryAcquire(client)) {
            bounds.refused(BOUND, "client " + client + " already holds " + limit + " streaming calls; refused "
                    + call.getMethodDescriptor().getFullMethodName());
            ApiError e = ApiError.of(Status.Code.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_LIMIT_STREAMS_PER_CLIENT,
                    BOUND + " = " + limit + ": this client (" + client + ") already holds " + limit + " streaming "
                    + "calls over all its connections; end one or raise the limit").with("bound", BOUND)
                    .with("limit", String.valueOf(limit)).retryAfter(ApiError.RETRY_DELAY);
            call.close(e.status(), e.trailers());
            return new ServerCall.Listener<>() {
            };
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                open.release(client);
            }
        };
        ServerCall.Listener<Q> listener;
        try {
            listener = next.startCall(call, headers);
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onComplete() {
                try {
                    super.onComplete();
                } finally {
                    release.run();
                }
            }

            @Override
            public void onCancel() {
                try {
                    super.onCancel();
                } finally {
                    release.run();
                }
            }
        };
    }
}
