package io.invmux.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.invmux.ErrorCode;
import io.invmux.InvMuxException;
import io.invmux.SessionClosedException;
import io.invmux.StreamResetException;
import io.invmux.server.runtime.ServiceRouter;
import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** How data-plane failures become statuses with details: the reason, the field, whether to retry. */
class StatusesTest {

    private static ErrorInfo info(StatusRuntimeException e) {
        return unpack(e, ErrorInfo.class);
    }

    private static <T extends com.google.protobuf.Message> T unpack(StatusRuntimeException e, Class<T> type) {
        com.google.rpc.Status s = StatusProto.fromThrowable(e);
        assertThat(s).isNotNull();
        assertThat(s.getCode()).isEqualTo(e.getStatus().getCode().value());
        assertThat(s.getMessage()).isEqualTo(e.getStatus().getDescription());
        try {
            for (var a : s.getDetailsList()) {
                if (a.is(type)) {
                    return a.unpack(type);
                }
            }
        } catch (InvalidProtocolBufferException x) {
            throw new AssertionError(x);
        }
        return null;
    }

    @Test
    void aBadArgumentNamesItsFieldInErrorInfoAndBadRequest() {
        StatusRuntimeException e = Statuses.invalid("open.service", "x y", "must be a service name");
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(info(e).getReason()).isEqualTo("INVALID_ARGUMENT");
        assertThat(info(e).getDomain()).isEqualTo("invmux.io");
        assertThat(info(e).getMetadataOrThrow("field")).isEqualTo("open.service");
        assertThat(unpack(e, BadRequest.class).getFieldViolations(0).getField()).isEqualTo("open.service");
        assertThat(unpack(e, RetryInfo.class)).isNull();
    }

    @Test
    void anIllegalArgumentWordedFieldEqualsValueNamesThatField() {
        StatusRuntimeException e = Statuses.from(new CompletionException(new IllegalArgumentException(
                "address = 'tcp://x:1': a listener was already added with this address")));
        assertThat(info(e).getMetadataOrThrow("field")).isEqualTo("address");
        StatusRuntimeException plain = Statuses.from(new IllegalArgumentException("something else"));
        assertThat(info(plain).getReason()).isEqualTo("INVALID_ARGUMENT");
        assertThat(info(plain).getMetadataMap()).doesNotContainKey("field");
    }

    @Test
    void aStreamTheRemoteRouterGaveUpOnIsServiceNotAccepted() {
        StreamResetException byPeer = new StreamResetException(ErrorCode.CANCEL, "stream reset by peer (CANCEL): "
                + ServiceRouter.NOT_ACCEPTED + "echo' within 10000 ms", true);
        StatusRuntimeException e = Statuses.from(byPeer);
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(info(e).getReason()).isEqualTo("SERVICE_NOT_ACCEPTED");
        assertThat(info(e).getMetadataOrThrow("mux_error")).isEqualTo("CANCEL");
        StreamResetException byApp = new StreamResetException(ErrorCode.CANCEL, "stream reset by peer (CANCEL): "
                + "stream reset by the application", true);
        assertThat(info(Statuses.from(byApp)).getReason()).isEqualTo("STREAM_CANCELLED");
    }

    @Test
    void aRefusedStreamIsResourceExhaustedWithARetryDelay() {
        StatusRuntimeException e = Statuses.from(new ExecutionException(new StreamResetException(
                ErrorCode.REFUSED_STREAM, "stream refused by peer: backlog full", true)));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(info(e).getReason()).isEqualTo("STREAM_REFUSED");
        assertThat(unpack(e, RetryInfo.class).getRetryDelay().getSeconds()).isPositive();
        assertThat(info(Statuses.from(new InvMuxException(ErrorCode.REFUSED_STREAM, "maxStreams")))
                .getReason()).isEqualTo("STREAM_REFUSED");
    }

    @Test
    void otherResetsAndLostSessionsAreUnavailableWithARetryDelay() {
        StatusRuntimeException reset = Statuses.from(new StreamResetException(ErrorCode.PROTOCOL_ERROR, "bad", true));
        assertThat(reset.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(info(reset).getReason()).isEqualTo("STREAM_RESET");
        assertThat(info(reset).getMetadataOrThrow("mux_error")).isEqualTo("PROTOCOL_ERROR");
        StatusRuntimeException closed = Statuses.from(new SessionClosedException(ErrorCode.SESSION_CLOSED,
                "session closed"));
        assertThat(info(closed).getReason()).isEqualTo("SESSION_CLOSED");
        assertThat(unpack(closed, RetryInfo.class)).isNotNull();
        assertThat(info(Statuses.from(new InvMuxException(ErrorCode.KEEPALIVE_TIMEOUT, "silent"))).getReason())
                .isEqualTo("SESSION_CLOSED");
        assertThat(info(Statuses.from(new InvMuxException(ErrorCode.AUTH_FAILED, "bad key"))).getReason())
                .isEqualTo("LINK_FAILED");
        assertThat(info(Statuses.from(new IOException("Connection refused"))).getReason()).isEqualTo("LINK_FAILED");
    }

    @Test
    void timeoutsAndTheUnexpectedSayTimeoutAndInternal() {
        StatusRuntimeException t = Statuses.from(new ExecutionException(new TimeoutException("30 s")));
        assertThat(t.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(info(t).getReason()).isEqualTo("TIMEOUT");
        StatusRuntimeException bug = Statuses.from(new IllegalStateException("oops"));
        assertThat(bug.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
        assertThat(info(bug).getReason()).isEqualTo("INTERNAL");
    }

    @Test
    void aStatusAlreadyMadePassesUnchanged() {
        StatusRuntimeException made = Statuses.invalid("peer", "", "must name a peer");
        assertThat(Statuses.from(new CompletionException(made))).isSameAs(made);
    }
}
