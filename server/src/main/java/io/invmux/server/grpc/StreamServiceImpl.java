package io.invmux.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.invmux.Stream;
import io.invmux.proto.v1.AcceptStreamRequest;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamInfo;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import io.invmux.server.runtime.Incoming;
import io.invmux.server.runtime.SidecarRuntime;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** OpenStream and AcceptStream: application bytes over the bundle, one call per stream. */
public final class StreamServiceImpl extends StreamServiceGrpc.StreamServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(StreamServiceImpl.class);
    static final Pattern SERVICE_NAME = Pattern.compile("[A-Za-z0-9._/-]{1,128}");

    /** How a call ends after its client sent reset. */
    private static final io.grpc.Status RESET_BY_CLIENT = io.grpc.Status.CANCELLED.withDescription(
            "the application reset the stream");

    private final SidecarRuntime runtime;

    public StreamServiceImpl(SidecarRuntime runtime) {
        this.runtime = runtime;
    }

    /** The service, with data responses written straight from stream buffers (see {@link StreamBytes}). */
    public static io.grpc.ServerServiceDefinition bind(SidecarRuntime runtime) {
        return StreamBytes.marshalling(new StreamServiceImpl(runtime).bindService(), java.util.Set.of(
                StreamServiceGrpc.getOpenStreamMethod().getFullMethodName(),
                StreamServiceGrpc.getAcceptStreamMethod().getFullMethodName()));
    }

    static void checkService(String field, String service) {
        if (!SERVICE_NAME.matcher(service).matches()) {
            throw Statuses.invalid(field, service, "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '/', '-'");
        }
    }

    /** The traffic class {@code target} asks for; unspecified is bulk. */
    static io.invmux.TrafficClass trafficClass(StreamTarget target) {
        return switch (target.getTrafficClass()) {
            case TRAFFIC_CLASS_UNSPECIFIED, TRAFFIC_CLASS_BULK -> io.invmux.TrafficClass.BULK;
            case TRAFFIC_CLASS_INTERACTIVE -> io.invmux.TrafficClass.INTERACTIVE;
            case TRAFFIC_CLASS_REDUNDANT -> io.invmux.TrafficClass.REDUNDANT;
            case UNRECOGNIZED -> throw Statuses.invalid("open.traffic_class",
                    Integer.toString(target.getTrafficClassValue()),
                    "must be TRAFFIC_CLASS_BULK (1), TRAFFIC_CLASS_INTERACTIVE (2) or TRAFFIC_CLASS_REDUNDANT (3)");
        };
    }

    static io.invmux.proto.v1.TrafficClass toProto(io.invmux.TrafficClass trafficClass) {
        return switch (trafficClass) {
            case BULK -> io.invmux.proto.v1.TrafficClass.TRAFFIC_CLASS_BULK;
            case INTERACTIVE -> io.invmux.proto.v1.TrafficClass.TRAFFIC_CLASS_INTERACTIVE;
            case REDUNDANT -> io.invmux.proto.v1.TrafficClass.TRAFFIC_CLASS_REDUNDANT;
        };
    }

    /**
     * The calls' request marshallers ({@link StreamBytes#marshalling}) deliver data messages as {@link StreamBytes}
     * and others as the request type, so the request observers take {@code Object}; gRPC passes requests through
     * untyped.
     */
    @SuppressWarnings("unchecked")
    private static <T> StreamObserver<T> requests(StreamObserver<Object> observer) {
        return (StreamObserver<T>) (StreamObserver<?>) observer;
    }

    @Override
    public StreamObserver<OpenStreamRequest> openStream(StreamObserver<OpenStreamResponse> responseObserver) {
        ServerCallStreamObserver<OpenStreamResponse> out = (ServerCallStreamObserver<OpenStreamResponse>) responseObserver;
        StreamBridge.prepare(out);
        java.util.concurrent.atomic.AtomicReference<StreamBridge<OpenStreamResponse>> current =
                new java.util.concurrent.atomic.AtomicReference<>();
        out.setOnReadyHandler(() -> {
            StreamBridge<OpenStreamResponse> b = current.get();
            if (b != null) {
                b.onCallReady();
            }
        });
        out.setOnCancelHandler(() -> {
            StreamBridge<OpenStreamResponse> b = current.get();
            if (b != null) {
                b.onClientError();
            }
        });
        out.request(1);
        return requests(new StreamObserver<>() {
            private StreamBridge<OpenStreamResponse> bridge;
            /** The client sent reset: what follows (its half-close among it) must not end the stream cleanly. */
            private boolean aborted;

            @Override
            public void onNext(Object message) {
                if (message instanceof StreamBytes bytes) {
                    if (bridge != null) {
                        bridge.onClientData(bytes.data);
                    } else {
                        bytes.data.release();
                        out.onError(Statuses.invalid("open", "<missing>", "the first message must carry open"));
                    }
                    return;
                }
                OpenStreamRequest req = (OpenStreamRequest) message;
                if (aborted) {
                    return;
                }
                if (bridge != null && req.hasReset()) {
                    aborted = true;
                    bridge.onClientError();
                    out.onError(RESET_BY_CLIENT.asRuntimeException());
                    return;
                }
                if (bridge != null) {
                    if (req.hasData()) {
                        bridge.onClientData(req.getData());
                    } else {
                        bridge.onClientError();
                        out.onError(Statuses.invalid("open", "<again>", "may only be sent in the first message"));
                    }
                    return;
                }
                try {
                    if (!req.hasOpen()) {
                        throw Statuses.invalid("open", "<missing>", "the first message must carry open");
                    }
                    StreamTarget t = req.getOpen();
                    if (t.getPeer().isEmpty()) {
                        throw Statuses.invalid("open.peer", "", "must name a peer or a session id");
                    }
                    checkService("open.service", t.getService());
                    if (t.getSerializedSize() > SidecarRuntime.MAX_METADATA_BYTES + 512) {
                        throw Statuses.invalid("open.metadata", t.getMetadataCount() + " entries",
                                "must be at most " + SidecarRuntime.MAX_METADATA_BYTES + " bytes in all");
                    }
                    Stream stream = runtime.openStream(t.getPeer(), t.getService(), t.getMetadataMap(),
                            t.hasCompress() ? java.util.Optional.of(t.getCompress()) : java.util.Optional.empty(),
                            trafficClass(t));
                    bridge = new StreamBridge<>(out, stream, OpenStreamResponse.newBuilder().setEof(true).build());
                    current.set(bridge);
                    if (out.isCancelled()) {
                        stream.reset();
                        return;
                    }
                    String session = stream.session().id();
                    synchronized (out) {
                        out.onNext(OpenStreamResponse.newBuilder().setOpened(StreamInfo.newBuilder()
                                .setSessionId(session).setStreamId(stream.id()).setPeer(t.getPeer())
                                .setService(t.getService()).putAllMetadata(t.getMetadataMap())
                                .setTrafficClass(toProto(stream.trafficClass()))).build());
                    }
                    bridge.start();
                    out.request(1);
                } catch (Exception e) {
                    out.onError(Statuses.from(e));
                }
            }

            @Override
            public void onError(Throwable t) {
                if (bridge != null) {
                    bridge.onClientError();
                }
            }

            @Override
            public void onCompleted() {
                if (aborted) {
                    return;
                }
                if (bridge != null) {
                    bridge.onClientCompleted();
                } else {
                    out.onError(Statuses.invalid("open", "<missing>", "the call ended before its first message"));
                }
            }
        });
    }

    @Override
    public StreamObserver<AcceptStreamRequest> acceptStream(StreamObserver<AcceptStreamResponse> responseObserver) {
        ServerCallStreamObserver<AcceptStreamResponse> out =
                (ServerCallStreamObserver<AcceptStreamResponse>) responseObserver;
        StreamBridge.prepare(out);
        java.util.concurrent.atomic.AtomicReference<StreamBridge<AcceptStreamResponse>> current =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<CompletableFuture<Incoming>> pending =
                new java.util.concurrent.atomic.AtomicReference<>();
        out.setOnReadyHandler(() -> {
            StreamBridge<AcceptStreamResponse> b = current.get();
            if (b != null) {
                b.onCallReady();
            }
        });
        out.setOnCancelHandler(() -> {
            CompletableFuture<Incoming> w = pending.get();
            if (w != null) {
                w.cancel(false);
            }
            StreamBridge<AcceptStreamResponse> b = current.get();
            if (b != null) {
                b.onClientError();
            }
        });
        out.request(1);
        return requests(new StreamObserver<>() {
            private volatile StreamBridge<AcceptStreamResponse> bridge;
            private CompletableFuture<Incoming> waiting;
            private volatile boolean clientDone;
            /** The client sent reset (see openStream's). */
            private volatile boolean aborted;

            @Override
            public void onNext(Object message) {
                if (message instanceof StreamBytes bytes) {
                    StreamBridge<AcceptStreamResponse> b = bridge;
                    if (b != null) {
                        b.onClientData(bytes.data);
                        return;
                    }
                    bytes.data.release();
                    message = AcceptStreamRequest.getDefaultInstance(); // neither accept nor data: refused below
                }
                AcceptStreamRequest req = (AcceptStreamRequest) message;
                if (aborted) {
                    return;
                }
                if (waiting != null && req.hasReset()) {
                    aborted = true;
                    StreamBridge<AcceptStreamResponse> b = bridge;
                    if (b != null) {
                        b.onClientError();
                    } else {
                        // Not asked for before a stream arrived (the next message is requested once one has), so
                        // not seen here in practice; stopping the wait is what it would mean.
                        waiting.cancel(false);
                    }
                    out.onError(RESET_BY_CLIENT.asRuntimeException());
                    return;
                }
                if (waiting != null) {
                    StreamBridge<AcceptStreamResponse> b = bridge;
                    if (req.hasData() && b != null) {
                        b.onClientData(req.getData());
                    } else {
                        if (b != null) {
                            b.onClientError();
                        }
                        waiting.cancel(false);
                        out.onError(Statuses.invalid("accept", "<again>", "may only be sent in the first message"));
                    }
                    return;
                }
                try {
                    if (!req.hasAccept()) {
                        throw Statuses.invalid("accept", "<missing>", "the first message must carry accept");
                    }
                    String service = req.getAccept().getService();
                    checkService("accept.service", service);
                    waiting = runtime.router().accept(service);
                    pending.set(waiting);
                    if (out.isCancelled()) {
                        waiting.cancel(false);
                        return;
                    }
                    waiting.whenComplete((in, e) -> {
                        if (e != null) {
                            return; // cancelled: the client went away
                        }
                        onAccepted(in);
                    });
                } catch (Exception e) {
                    out.onError(Statuses.from(e));
                }
            }

            private void onAccepted(Incoming in) {
                StreamBridge<AcceptStreamResponse> b = new StreamBridge<>(out, in.stream(),
                        AcceptStreamResponse.newBuilder().setEof(true).build());
                synchronized (out) {
                    if (out.isCancelled()) {
                        // The call went away after the router chose it: another call (or the next) takes it.
                        runtime.router().giveBack(in);
                        return;
                    }
                    out.onNext(AcceptStreamResponse.newBuilder().setAccepted(StreamInfo.newBuilder()
                            .setSessionId(in.sessionId()).setStreamId(in.stream().id()).setPeer(in.peer())
                            .setService(in.service()).putAllMetadata(in.metadata())
                            .setTrafficClass(toProto(in.stream().trafficClass()))).build());
                }
                bridge = b;
                current.set(b);
                b.start();
                if (clientDone) {
                    b.onClientCompleted();
                } else {
                    out.request(1);
                }
                log.debug("accepted stream {} of session {} for '{}'", in.stream().id(), in.sessionId(),
                        in.service());
            }

            @Override
            public void onError(Throwable t) {
                if (waiting != null) {
                    waiting.cancel(false);
                }
                StreamBridge<AcceptStreamResponse> b = bridge;
                if (b != null) {
                    b.onClientError();
                }
            }

            @Override
            public void onCompleted() {
                if (aborted) {
                    return;
                }
                clientDone = true;
                StreamBridge<AcceptStreamResponse> b = bridge;
                if (b != null) {
                    b.onClientCompleted();
                } else if (waiting == null) {
                    out.onError(Statuses.invalid("accept", "<missing>", "the call ended before its first message"));
                }
            }
        });
    }
}
