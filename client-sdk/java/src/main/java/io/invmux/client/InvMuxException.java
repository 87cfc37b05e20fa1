package io.invmux.client;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A call to the sidecar failed with a gRPC status: {@link #code()} is INVALID_ARGUMENT (the message names the
 * field), NOT_FOUND (unknown peer, session or link), UNAVAILABLE (sidecar, peer or session unreachable or lost),
 * RESOURCE_EXHAUSTED (refused by limits), CANCELLED (reset by the peer, or closed by this application),
 * UNAUTHENTICATED (missing or wrong API token), ...
 */
public class InvMuxException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Status status;

    public InvMuxException(Status status) {
        super(status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()),
                status.getCause());
        this.status = status;
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
            return new InvMuxException(e.getStatus());
        }
        if (c instanceof StatusException e) {
            return new InvMuxException(e.getStatus());
        }
        return new InvMuxException(Status.fromThrowable(c));
    }
}
