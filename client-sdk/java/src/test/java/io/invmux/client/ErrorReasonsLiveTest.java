package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Failures reach the app as {@link InvMuxException}s carrying the sidecar's stable reason, the field at fault and,
 * where retrying helps, a retry delay: asserted on those, never on the message.
 */
@ExtendWith(SidecarPairExtension.class)
class ErrorReasonsLiveTest {

    @Test
    void anUnknownPeerIsPeerUnknownNamingThePeer(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            InvMuxException e = catchThrowableOfType(InvMuxException.class, () -> a.openStream("no-such-peer", "echo"));
            assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(e.reason()).isEqualTo("PEER_UNKNOWN");
            assertThat(e.metadata()).containsEntry("peer", "no-such-peer");
            assertThat(e.retryDelay()).isEmpty();
        }
    }

    @Test
    void badArgumentsNameTheirField(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            InvMuxException open = catchThrowableOfType(InvMuxException.class,
                    () -> a.openStream(SidecarPair.PEER, ""));
            assertThat(open.reason()).isEqualTo("INVALID_ARGUMENT");
            assertThat(open.field()).isEqualTo("open.service");

            ExecutionException accept = catchThrowableOfType(ExecutionException.class,
                    () -> a.acceptStreamAsync("bad service!").get(10, TimeUnit.SECONDS));
            assertThat(accept.getCause()).isInstanceOfSatisfying(InvMuxException.class,
                    e -> assertThat(e.field()).isEqualTo("accept.service"));

            InvMuxException dial = catchThrowableOfType(InvMuxException.class,
                    () -> a.dialLink("no/slash", "tcp://127.0.0.1:1"));
            assertThat(dial.reason()).isEqualTo("INVALID_ARGUMENT");
            assertThat(dial.field()).isEqualTo("peer");
        }
    }

    @Test
    void anUnknownSessionIsSessionUnknown(SidecarPair pair) throws Exception {
        try (InvMuxClient a = pair.clientA()) {
            InvMuxException e = catchThrowableOfType(InvMuxException.class,
                    () -> a.removeLink("0123456789abcdef0123456789abcdef", "1"));
            assertThat(e.reason()).isEqualTo("SESSION_UNKNOWN");
            assertThat(e.metadata()).containsEntry("session_id", "0123456789abcdef0123456789abcdef");
        }
    }

    @Test
    void aDialToAClosedPortIsLinkFailedWithARetryDelay(SidecarPair pair) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (InvMuxClient a = pair.clientA()) {
            int closed = port;
            InvMuxException e = catchThrowableOfType(InvMuxException.class,
                    () -> a.dialLink("java-errors-closed", "tcp://127.0.0.1:" + closed));
            assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.reason()).isEqualTo("LINK_FAILED");
            assertThat(e.retryDelay()).hasValueSatisfying(d -> assertThat(d).isPositive());
        }
    }

    @Test
    void failuresMadeOnThisSideHaveNoReason() {
        InvMuxException e = new InvMuxException(Status.CANCELLED.withDescription("closed here"));
        assertThat(e.reason()).isEmpty();
        assertThat(e.field()).isEmpty();
        assertThat(e.retryDelay()).isEmpty();
    }
}
