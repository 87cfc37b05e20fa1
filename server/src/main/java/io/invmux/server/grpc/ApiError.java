package io.invmux.server.grpc;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.invmux.proto.v1.ErrorReason;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One failed call's status with its machine-readable details (the {@code grpc-status-details-bin} trailer): a
 * {@code google.rpc.ErrorInfo} (domain {@value #DOMAIN}, a reason of {@code invmux.v1.ErrorReason} without its
 * prefix, metadata), a {@code BadRequest} naming the field at fault, and a {@code RetryInfo} when retrying later can
 * succeed. Not thread-safe; build it on the thread that fails the call.
 */
final class ApiError {
    static final String DOMAIN = "invmux.io";
    /** How long a client should wait before it retries a call that a transient state failed. */
    static final Duration RETRY_DELAY = Duration.ofSeconds(1);
    private static final String PREFIX = "ERROR_REASON_";
    /** The trailer gRPC libraries read a google.rpc.Status from (grpc-java's StatusProto, grpcio-status, ...). */
    static final Metadata.Key<com.google.rpc.Status> DETAILS_KEY = Metadata.Key.of("grpc-status-details-bin",
            ProtoUtils.metadataMarshaller(com.google.rpc.Status.getDefaultInstance()));

    private final Status.Code code;
    private final ErrorReason reason;
    private final String message;
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private BadRequest.FieldViolation violation;
    private Duration retryDelay;
    private Throwable cause;

    private ApiError(Status.Code code, ErrorReason reason, String message) {
        this.code = code;
        this.reason = reason;
        this.message = message;
    }

    static ApiError of(Status.Code code, ErrorReason reason, String message) {
        return new ApiError(code, reason, message);
    }

    /** The reason as it travels: the enum value's name without {@code ERROR_REASON_}. */
    static String reasonName(ErrorReason reason) {
        return reason.name().substring(PREFIX.length());
    }

    /** Adds one ErrorInfo metadata entry; empty values are left out. */
    ApiError with(String key, String value) {
        if (value != null && !value.isEmpty()) {
            metadata.put(key, value);
        }
        return this;
    }

    /** Names the request field at fault: a BadRequest field violation and the {@code field} metadata entry. */
    ApiError field(String field) {
        violation = BadRequest.FieldViolation.newBuilder().setField(field).setDescription(message).build();
        return with("field", field);
    }

    ApiError retryAfter(Duration delay) {
        retryDelay = delay;
        return this;
    }

    ApiError cause(Throwable t) {
        cause = t;
        return this;
    }

    com.google.rpc.Status toProto() {
        com.google.rpc.Status.Builder s = com.google.rpc.Status.newBuilder().setCode(code.value())
                .setMessage(message).addDetails(Any.pack(ErrorInfo.newBuilder().setReason(reasonName(reason))
                        .setDomain(DOMAIN).putAllMetadata(metadata).build()));
        if (violation != null) {
            s.addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(violation).build()));
        }
        if (retryDelay != null) {
            s.addDetails(Any.pack(RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
                    .setSeconds(retryDelay.getSeconds()).setNanos(retryDelay.getNano())).build()));
        }
        return s.build();
    }

    /** The status to close a call with, and {@link #trailers()} to close it with. */
    Status status() {
        return Status.fromCode(code).withDescription(message).withCause(cause);
    }

    /** Trailers carrying the details. */
    Metadata trailers() {
        Metadata m = new Metadata();
        m.put(DETAILS_KEY, toProto());
        return m;
    }

    StatusRuntimeException asException() {
        return status().asRuntimeException(trailers());
    }

}
