package io.invmux.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A call to the sidecar failed with a gRPC status: {@link #code()} is INVALID_ARGUMENT (the message names the
 * field), NOT_FOUND (unknown peer, session or link), UNAVAILABLE (sidecar, peer or session unreachable or lost),
 * RESOURCE_EXHAUSTED (refused by limits), CANCELLED (reset by the peer, or closed by this application),
 * UNAUTHENTICATED (missing or wrong API token), ...
 *
 * <p>Branch on {@link #reason()}, not on the message: the sidecar's stable reason (invmux.v1.ErrorReason without its
 * prefix: {@code PEER_UNKNOWN}, {@code SESSION_UNKNOWN}, {@code SERVICE_NOT_ACCEPTED},
 * {@code LIMIT_STREAMS_PER_CLIENT}, {@code INVALID_ARGUMENT}, ...), read from the google.rpc.Status details of the
 * call's trailers, with {@link #field()} naming the request field at fault and {@link #retryDelay()} when waiting
 * and retrying can succeed. Failures made on this side (the call closed by the application, the sidecar
 * unreachable) have no reason.
 */
public class InvMuxException extends IOException {
    private static final long serialVersionUID = 1L;
    /** The ErrorInfo domain of the sidecar's reasons. */
    public static final String DOMAIN = "invmux.io";

    private final transient Status status;
    private final String reason;
    private final String field;
    private final Map<String, String> metadata;
    private final Duration retryDelay;

    public InvMuxException(Status status) {
        this(status, null);
    }

    /** With the trailers the status came with, for its details (null: none). */
    public InvMuxException(Status status, Metadata trailers) {
        super(status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()),
                status.getCause());
        this.status = status;
        Details d = Details.of(trailers == null ? null : StatusProto.fromStatusAndTrailers(status, trailers));
        this.reason = d.reason;
        this.field = d.field;
        this.metadata = d.metadata;
        this.retryDelay = d.retryDelay;
    }

    /** The status code. */
    public Status.Code code() {
        return status.getCode();
    }

    /** The sidecar's description of the failure (may be null). */
    public String description() {
        return status.getDescription();
    }

    /** The whole gRPC status. */
    public Status status() {
        return status;
    }

    /** The sidecar's stable reason, e.g. {@code PEER_UNKNOWN}; empty when the failure came with none. */
    public String reason() {
        return reason;
    }

    /** The request field at fault (e.g. {@code open.service}); empty when no field is. */
    public String field() {
        return field;
    }

    /** The ErrorInfo metadata: {@code peer}, {@code session_id}, {@code bound}, {@code limit}, ... */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** How long to wait before retrying, when the sidecar says retrying can succeed. */
    public Optional<Duration> retryDelay() {
        return Optional.ofNullable(retryDelay);
    }

    /** Maps anything a gRPC call or future threw. */
    public static InvMuxException from(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof InvMuxException e) {
            return e;
        }
        if (c instanceof StatusRuntimeException e) {
            return new InvMuxException(e.getStatus(), e.getTrailers());
        }
        if (c instanceof StatusException e) {
            return new InvMuxException(e.getStatus(), e.getTrailers());
        }
        return new InvMuxException(Status.fromThrowable(c), Status.trailersFromThrowable(c));
    }

    /** What the google.rpc.Status details say; details of other domains or types are skipped. */
    private record Details(String reason, String field, Map<String, String> metadata, Duration retryDelay) {
        static Details of(com.google.rpc.Status s) {
            String reason = "";
            String field = "";
            Map<String, String> metadata = Map.of();
            Duration retry = null;
            if (s == null) {
                return new Details(reason, field, metadata, null);
            }
            for (Any a : s.getDetailsList()) {
                try {
                    if (a.is(ErrorInfo.class)) {
                        ErrorInfo info = a.unpack(ErrorInfo.class);
                        if (DOMAIN.equals(info.getDomain())) {
                            reason = info.getReason();
                            metadata = Map.copyOf(info.getMetadataMap());
                            field = metadata.getOrDefault("field", field);
                        }
                    } else if (a.is(BadRequest.class)) {
                        BadRequest b = a.unpack(BadRequest.class);
                        if (field.isEmpty() && b.getFieldViolationsCount() > 0) {
                            field = b.getFieldViolations(0).getField();
                        }
                    } else if (a.is(RetryInfo.class)) {
                        com.google.protobuf.Duration d = a.unpack(RetryInfo.class).getRetryDelay();
                        retry = Duration.ofSeconds(d.getSeconds(), d.getNanos());
                    }
                } catch (InvalidProtocolBufferException e) {
                    // a detail this client cannot read tells it nothing; the status code still stands
                }
            }
            return new Details(reason, field, metadata, retry);
        }
    }
}
