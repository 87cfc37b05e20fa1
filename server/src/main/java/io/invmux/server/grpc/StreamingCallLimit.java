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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code api.maxStreamsPerClient}: how many streaming calls (streams opened or accepted, health watches) one
 * client connection may hold at once. The call over the limit is refused at once with RESOURCE_EXHAUSTED naming the
 * limit. HTTP/2's own SETTINGS_MAX_CONCURRENT_STREAMS would not do: a client queues calls over it silently, so a
 * leaking application would hang instead of being told. Unary calls are not counted.
 *
 * <p>Each connection's count lives in its transport attributes, put there by {@link #transportFilter()}; calls of
 * one connection may start and end on any thread, hence the atomics.
 */
public final class StreamingCallLimit implements ServerInterceptor {
    private static final Attributes.Key<AtomicInteger> OPEN_CALLS = Attributes.Key.create("invmux.openStreamingCalls");

    private final int limit;

    public StreamingCallLimit(int limit) {
        this.limit = limit;
    }

    /** Gives every new client connection its own count. */
    public ServerTransportFilter transportFilter() {
        return new ServerTransportFilter() {
            @Override
            public Attributes transportReady(Attributes transportAttrs) {
                return transportAttrs.toBuilder().set(OPEN_CALLS, new AtomicInteger()).build();
            }
        };
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        AtomicInteger open = call.getAttributes().get(OPEN_CALLS);
        if (open == null || call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY) {
            return next.startCall(call, headers);
        }
        if (open.incrementAndGet() > limit) {
            open.decrementAndGet();
            call.close(Status.RESOURCE_EXHAUSTED.withDescription("api.maxStreamsPerClient = " + limit
                    + ": this connection already holds " + limit + " streaming calls; end one, use another"
                    + " connection, or raise the limit"), new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                open.decrementAndGet();
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
