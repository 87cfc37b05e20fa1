package io.invmux.server.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.invmux.ErrorCode;
import io.invmux.InvMuxException;
import io.invmux.SessionClosedException;
import io.invmux.StreamResetException;
import io.invmux.server.runtime.SidecarRuntime;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Maps data-plane failures to gRPC statuses with messages a user can act on. */
final class Statuses {
    private Statuses() {
    }

    static StatusRuntimeException invalid(String field, Object value, String rule) {
        return Status.INVALID_ARGUMENT.withDescription(field + " = '" + value + "': " + rule).asRuntimeException();
    }

    static StatusRuntimeException notFound(String message) {
        return Status.NOT_FOUND.withDescription(message).asRuntimeException();
    }

    static StatusRuntimeException from(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof StatusRuntimeException) {
            return (StatusRuntimeException) c;
        }
        if (c instanceof SidecarRuntime.PeerNotFoundException) {
            return Status.NOT_FOUND.withDescription(c.getMessage()).asRuntimeException();
        }
        if (c instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(c.getMessage()).withCause(c).asRuntimeException();
        }
        if (c instanceof StreamResetException) {
            StreamResetException r = (StreamResetException) c;
            Status s = r.errorCode() == ErrorCode.REFUSED_STREAM ? Status.RESOURCE_EXHAUSTED
                    : r.errorCode() == ErrorCode.CANCEL ? Status.CANCELLED : Status.UNAVAILABLE;
            return s.withDescription(c.getMessage()).asRuntimeException();
        }
        if (c instanceof SessionClosedException) {
            return Status.UNAVAILABLE.withDescription(c.getMessage()).asRuntimeException();
        }
        if (c instanceof InvMuxException) {
            InvMuxException e = (InvMuxException) c;
            Status s = e.errorCode() == ErrorCode.REFUSED_STREAM ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE;
            return s.withDescription(c.getMessage()).asRuntimeException();
        }
        if (c instanceof java.io.IOException) {
            return Status.UNAVAILABLE.withDescription(c.getMessage()).withCause(c).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(String.valueOf(c)).withCause(c).asRuntimeException();
    }
}
