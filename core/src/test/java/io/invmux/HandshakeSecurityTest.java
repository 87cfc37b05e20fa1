package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.invmux.internal.frame.HelloFrame;
import io.invmux.testing.ScriptedPeer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The handshake's MACs cover both HELLOs whole, and per-peer pre-shared keys bind a peer's name to its key: real
 * sockets, a man in the middle that rewrites one field, peers that borrow another's name.
 */
class HandshakeSecurityTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private static int port(SessionListener listener) {
        return ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
    }

    private static HelloFrame withSessionWindow(HelloFrame h, int window) {
        return new HelloFrame(h.flags, h.sessionId, h.linkId, h.maxChunkSize, h.streamWindow, window, h.middleware,
                h.auth);
    }

    /**
     * Relays one dialer's handshake to the listener through a man in the middle that passes the request and the
     * reply through {@code onRequest} and {@code onReply}; returns how the dial ended.
     */
    private static Throwable dialThroughRewriter(Config config, SessionListener listener,
            UnaryOperator<HelloFrame> onRequest, UnaryOperator<HelloFrame> onReply) throws Exception {
        try (ServerSocket middle = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Session> dialed = InvMux.dial(config,
                    List.of(URI.create("tcp://127.0.0.1:" + middle.getLocalPort())));
            try (ScriptedPeer fromDialer = ScriptedPeer.accept(middle, WAIT);
                    ScriptedPeer toListener = ScriptedPeer.connect(port(listener))) {
                HelloFrame request = fromDialer.readUntil(HelloFrame.class, WAIT);
                toListener.sendPreface().send(onRequest.apply(request));
                HelloFrame reply = toListener.readUntil(HelloFrame.class, WAIT);
                fromDialer.sendPreface().send(onReply.apply(reply));
                return org.assertj.core.api.Assertions.catchThrowable(() -> awaitAndClose(dialed));
            }
        }
    }

    private static void awaitAndClose(CompletableFuture<Session> dialed) throws Exception {
        io.invmux.internal.session.Dialer.await(dialed).close();
    }

    @Test
    void aRequestWhoseLimitsWereRewrittenOnTheWayIsDetectedByTheDialer() throws Exception {
        Config config = Config.builder().preSharedKey(bytes(32, 1)).build();
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            Throwable t = dialThroughRewriter(config, listener, h -> withSessionWindow(h, 64 * 1024), h -> h);
            assertThat(t).isInstanceOfSatisfying(InvMuxException.class, e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTH_FAILED);
                assertThat(e.getMessage()).contains("a HELLO was altered on the way");
            });
            assertThat(listener.sessions()).as("the accepting end admits no session").isEmpty();
        }
    }

    @Test
    void aReplyWhoseLimitsWereRewrittenOnTheWayIsDetectedByTheDialer() throws Exception {
        Config config = Config.builder().preSharedKey(bytes(32, 2)).build();
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            Throwable t = dialThroughRewriter(config, listener, h -> h, h -> withSessionWindow(h, 64 * 1024));
            assertThat(t).isInstanceOfSatisfying(InvMuxException.class, e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTH_FAILED);
                assertThat(e.getMessage()).contains("a HELLO was altered on the way");
            });
        }
    }

    @Test
    void anUntouchedHandshakeThroughTheSameRelayCompletes() throws Exception {
        Config config = Config.builder().preSharedKey(bytes(32, 3)).build();
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            // The relay stops after the handshake, so the session is not used; the dial's success is the point.
            Throwable t = dialThroughRewriter(config, listener, h -> h, h -> h);
            assertThat(t).isNull();
        }
    }

    private static Config acceptingPerPeer(byte[] frontendKey, byte[] malloryKey) {
        return Config.builder().peerKeys(Map.of("frontend", frontendKey, "mallory", malloryKey)).build();
    }

    @Test
    void aPeerKeyNamesTheAcceptedSessionsPeer() throws Exception {
        byte[] frontend = bytes(32, 10);
        try (SessionListener listener = InvMux.listen(acceptingPerPeer(frontend, bytes(32, 11)),
                URI.create("tcp://127.0.0.1:0"))) {
            URI uri = URI.create("tcp://127.0.0.1:" + port(listener));
            try (Session s = InvMux.connect(Config.builder().preSharedKey(frontend).keyName("frontend").build(), uri,
                    uri)) {
                Session accepted = listener.accept(WAIT);
                assertThat(accepted.peerIdentity()).contains(new PeerIdentity("frontend", List.of("frontend"),
                        "pre-shared key"));
                assertThat(s.numConnections()).isEqualTo(2);
            }
        }
    }

    @Test
    void aPeerUsingAnotherPeersNameWithItsOwnKeyIsRefused() throws Exception {
        byte[] mallory = bytes(32, 21);
        try (SessionListener listener = InvMux.listen(acceptingPerPeer(bytes(32, 20), mallory),
                URI.create("tcp://127.0.0.1:0"))) {
            URI uri = URI.create("tcp://127.0.0.1:" + port(listener));
            assertThatThrownBy(() -> InvMux.connect(
                    Config.builder().preSharedKey(mallory).keyName("frontend").build(), uri))
                    .isInstanceOfSatisfying(InvMuxException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTH_FAILED);
                        // The accepting end answers under frontend's key, which mallory's end cannot check.
                        assertThat(e.getMessage()).contains("failed to prove it holds the pre-shared key");
                    });
            assertThat(listener.sessions()).isEmpty();
        }
    }

    @Test
    void aNameWithNoKeyAtTheAcceptingEndIsRefusedNamingIt() throws Exception {
        try (SessionListener listener = InvMux.listen(acceptingPerPeer(bytes(32, 30), bytes(32, 31)),
                URI.create("tcp://127.0.0.1:0"))) {
            URI uri = URI.create("tcp://127.0.0.1:" + port(listener));
            assertThatThrownBy(() -> InvMux.connect(
                    Config.builder().preSharedKey(bytes(32, 32)).keyName("eve").build(), uri))
                    .hasMessageContaining("no pre-shared key for a peer named 'eve'");
            assertThatThrownBy(() -> InvMux.connect(Config.builder().preSharedKey(bytes(32, 30)).build(), uri))
                    .hasMessageContaining("must announce the name its key is under");
        }
    }
}
