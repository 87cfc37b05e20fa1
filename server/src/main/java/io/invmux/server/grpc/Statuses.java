package io.invmux.server.grpc;

import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_INTERNAL;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_INVALID_ARGUMENT;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_LINK_FAILED;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_PEER_UNAVAILABLE;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_PEER_UNKNOWN;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_SERVICE_NOT_ACCEPTED;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_SESSION_CLOSED;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_STREAM_CANCELLED;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_STREAM_REFUSED;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_STREAM_RESET;
import static io.invmux.proto.v1.ErrorReason.ERROR_REASON_TIMEOUT;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.invmux.ErrorCode;
import io.invmux.InvMuxException;
import io.invmux.SessionClosedException;
import io.invmux.StreamResetException;
import io.invmux.proto.v1.ErrorReason;
import io.invmux.server.runtime.ServiceRouter;
import io.invmux.server.runtime.SidecarRuntime;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps data-plane failures to gRPC statuses with messages a user can act on and the details a program branches on
 * ({@link ApiError}: the reasons are {@code invmux.v1.ErrorReason}, documented in proto/.../errors.proto).
 */
final class Statuses {
    /** How the sidecar words a bad argument everywhere: {@code field = 'value': rule}. */
    private static final Pattern FIELD_MESSAGE = Pattern.compile("^([a-z_][a-z0-9_.]*) = '.*': .*", Pattern.DOTALL);

    private Statuses() {
    }

    static StatusRuntimeException invalid(String field, Object value, String rule) {
        return ApiError.of(Status.Code.INVALID_ARGUMENT, ERROR_REASON_INVALID_ARGUMENT,
                field + " = '" + value + "': " + rule).field(field).asException();
    }

    /** NOT_FOUND with {@code reason}, and {@code key = value} in its metadata (the name that matched nothing). */
    static StatusRuntimeException notFound(ErrorReason reason, String message, String key, String value) {
        return ApiError.of(Status.Code.NOT_FOUND, reason, message).with(key, value).asException();
    }

    static StatusRuntimeException from(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof StatusRuntimeException) {
            return (StatusRuntimeException) c;
        }
        return describe(c).asException();
    }

    private static ApiError describe(Throwable c) {
        String message = String.valueOf(c.getMessage());
        if (c instanceof SidecarRuntime.PeerNotFoundException p) {
            return ApiError.of(Status.Code.NOT_FOUND, ERROR_REASON_PEER_UNKNOWN, message).with("peer", p.peer());
        }
        if (c instanceof SidecarRuntime.PeerUnavailableException p) {
            return ApiError.of(Status.Code.UNAVAILABLE, ERROR_REASON_PEER_UNAVAILABLE, message).with("peer", p.peer())
                    .retryAfter(ApiError.RETRY_DELAY);
        }
        if (c instanceof IllegalArgumentException) {
            ApiError e = ApiError.of(Status.Code.INVALID_ARGUMENT, ERROR_REASON_INVALID_ARGUMENT, message).cause(c);
            Matcher m = FIELD_MESSAGE.matcher(message);
            return m.matches() ? e.field(m.group(1)) : e;
        }
        if (c instanceof TimeoutException) {
            return ApiError.of(Status.Code.DEADLINE_EXCEEDED, ERROR_REASON_TIMEOUT, "timed out: " + message);
        }
        if (c instanceof StreamResetException r) {
            return reset(r);
        }
        if (c instanceof SessionClosedException s && s.errorCode() != ErrorCode.LIMIT_EXCEEDED) {
            return ApiError.of(Status.Code.UNAVAILABLE, ERROR_REASON_SESSION_CLOSED, message)
                    .with("mux_error", s.errorCode().name()).retryAfter(ApiError.RETRY_DELAY);
        }
        if (c instanceof InvMuxException e) {
            return dataPlane(e.errorCode(), message);
        }
        if (c instanceof java.io.IOException) {
            return ApiError.of(Status.Code.UNAVAILABLE, ERROR_REASON_LINK_FAILED, message).cause(c)
                    .retryAfter(ApiError.RETRY_DELAY);
        }
        return ApiError.of(Status.Code.INTERNAL, ERROR_REASON_INTERNAL, String.valueOf(c)).cause(c);
    }

    /**
     * A reset stream. The peer's reason travels as text in its RST; the one sidecar reason a program needs told
     * apart, a stream nobody accepted, is recognised by the sidecar router's own wording
     * ({@link ServiceRouter#NOT_ACCEPTED}).
     */
    private static ApiError reset(StreamResetException r) {
        String message = r.getMessage();
        ErrorCode code = r.errorCode();
        if (code == ErrorCode.CANCEL) {
            boolean notAccepted = r.byPeer() && message.contains(ServiceRouter.NOT_ACCEPTED);
            return ApiError.of(Status.Code.CANCELLED, notAccepted ? ERROR_REASON_SERVICE_NOT_ACCEPTED
                    : ERROR_REASON_STREAM_CANCELLED, message).with("mux_error", code.name());
        }
        if (code == ErrorCode.REFUSED_STREAM) {
            return ApiError.of(Status.Code.RESOURCE_EXHAUSTED, ERROR_REASON_STREAM_REFUSED, message)
                    .with("mux_error", code.name()).retryAfter(ApiError.RETRY_DELAY);
        }
        return ApiError.of(Status.Code.UNAVAILABLE, ERROR_REASON_STREAM_RESET, message).with("mux_error", code.name())
                .retryAfter(ApiError.RETRY_DELAY);
    }

    private static ApiError dataPlane(ErrorCode code, String message) {
        ApiError e = switch (code) {
            case REFUSED_STREAM, LIMIT_EXCEEDED -> ApiError.of(Status.Code.RESOURCE_EXHAUSTED,
                    ERROR_REASON_STREAM_REFUSED, message);
            case SESSION_CLOSED, LINKS_LOST, KEEPALIVE_TIMEOUT -> ApiError.of(Status.Code.UNAVAILABLE,
                    ERROR_REASON_SESSION_CLOSED, message);
            default -> ApiError.of(Status.Code.UNAVAILABLE, ERROR_REASON_LINK_FAILED, message);
        };
        return e.with("mux_error", code.name()).retryAfter(ApiError.RETRY_DELAY);
    }
}
