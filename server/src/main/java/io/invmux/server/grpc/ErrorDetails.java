package io.invmux.server.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.invmux.proto.v1.ErrorReason;

/**
 * Makes sure every call the sidecar fails carries an ErrorInfo: a status closed without details (one a library
 * made, such as a message over api.maxMessageSize, or a service that predates them) gets one whose reason follows
 * from its code. Statuses built with {@link ApiError} pass unchanged. Added outermost, so it sees what the token
 * check and the streaming-call limit close calls with too.
 */
public final class ErrorDetails implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (!status.isOk() && !trailers.containsKey(ApiError.DETAILS_KEY)) {
                    trailers.put(ApiError.DETAILS_KEY, ApiError.of(status.getCode(), reasonOf(status.getCode()),
                            status.getDescription() == null ? "" : status.getDescription()).toProto());
                }
                super.close(status, trailers);
            }
        }, headers);
    }

    private static ErrorReason reasonOf(Status.Code code) {
        return switch (code) {
            case INVALID_ARGUMENT -> ErrorReason.ERROR_REASON_INVALID_ARGUMENT;
            case RESOURCE_EXHAUSTED -> ErrorReason.ERROR_REASON_RESOURCE_EXHAUSTED;
            case DEADLINE_EXCEEDED -> ErrorReason.ERROR_REASON_TIMEOUT;
            case INTERNAL -> ErrorReason.ERROR_REASON_INTERNAL;
            default -> ErrorReason.ERROR_REASON_UNKNOWN;
        };
    }
}
