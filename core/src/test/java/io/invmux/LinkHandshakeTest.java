package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.internal.frame.HelloFrame;
import io.invmux.internal.session.Handshake;
import io.invmux.testing.ScriptedPeer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What crosses the wire when links start, and how bad links are refused without disturbing anyone. */
class LinkHandshakeTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static int port(SessionListener listener) {
        return ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
    }

    private static HelloFrame hello(int flags, byte[] sessionId, byte[] auth) {
        return hello(flags, sessionId, 9, auth);
    }

    private static HelloFrame hello(int flags, byte[] sessionId, int linkId, byte[] auth) {
        Config d = Config.defaults();
        return new HelloFrame(flags, sessionId, linkId, d.maxChunkSize(), d.windowSize(), d.sessionWindowSize(),
                List.of(), auth);
    }

    private static HelloFrame join(byte[] sessionId, byte[] clientNonce) {
        return hello(0, sessionId, clientNonce);
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** A listener, one healthy session with a stream in use, and a check that it still works afterwards. */
    private static void withHealthySession(ThrowingConsumer<Pair> body) throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            Stream c = p.client.openStream();
            c.outputStream().write(1);
            Stream s = p.server.acceptStream(WAIT);
            assertThat(s.inputStream().read()).isEqualTo(1);
            body.accept(p);
            c.outputStream().write(2);
            assertThat(s.inputStream().read()).isEqualTo(2);
            assertThat(p.client.isClosed()).isFalse();
            assertThat(p.server.numConnections()).isEqualTo(1);
        }
    }

    interface ThrowingConsumer<T> {
        void accept(T t) throws Exception;
    }

    @Test
    void randomGarbageGetsAGoAwayNamingTheBadPrefaceAndTheSessionCarriesOn() throws Exception {
        withHealthySession(p -> {
            try (ScriptedPeer peer = ScriptedPeer.connect(port(p.listener))) {
                byte[] garbage = new byte[4096];
                new SplittableRandom(3).nextBytes(garbage);
                garbage[0] = 'G';
                peer.sendRaw(garbage);
                GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
                assertThat(goAway.message).contains("bad link preface").contains("IMUX");
                assertThat(peer.closedByPeer(WAIT)).isTrue();
            }
            assertThat(p.listener.refusedLinks()).isEqualTo(1);
        });
    }

    @Test
    void anUnknownVersionIsRefusedWithUnsupportedVersion() throws Exception {
        withHealthySession(p -> {
            try (ScriptedPeer peer = ScriptedPeer.connect(port(p.listener))) {
                peer.sendRaw(new byte[] {'I', 'M', 'U', 'X', 0, 7, 0, 0});
                GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
                assertThat(goAway.message).contains("version 7").contains("version 1");
                assertThat(peer.closedByPeer(WAIT)).isTrue();
            }
        });
    }

    @Test
    void joiningAnUnknownSessionIsRefused() throws Exception {
        withHealthySession(p -> {
            try (ScriptedPeer peer = ScriptedPeer.connect(port(p.listener))) {
                peer.sendPreface().send(join(new byte[16], new byte[16]));
                GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.UNKNOWN_SESSION);
                assertThat(goAway.message).contains("no session with id 00000000000000000000000000000000");
                assertThat(peer.closedByPeer(WAIT)).isTrue();
            }
        });
    }

    /**
     * A dialer joins more links as soon as its first link's proof is written, so on another path a join can reach
     * the listener before that proof does. The join must wait for the first link, not be refused.
     */
    @Test
    void aJoinThatOvertakesTheFirstLinksProofWaitsForItInsteadOfBeingRefused() throws Exception {
        byte[] psk = bytes(32, 11);
        Config config = Config.builder().preSharedKey(psk).build();
        SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        try (listener; ScriptedPeer first = ScriptedPeer.connect(port(listener));
                ScriptedPeer second = ScriptedPeer.connect(port(listener))) {
            byte[] id = bytes(16, 12);
            byte[] firstNonce = bytes(16, 13);
            HelloFrame firstRequest = hello(Frame.FLAG_HELLO_NEW_SESSION, id, 1, firstNonce);
            first.sendPreface().send(firstRequest);
            HelloFrame firstReply = first.readUntil(HelloFrame.class, WAIT);
            byte[] secondNonce = bytes(16, 14);
            HelloFrame secondRequest = hello(0, id, 2, secondNonce);
            second.sendPreface().send(secondRequest);
            assertThatThrownBy(() -> second.read(Duration.ofMillis(300)))
                    .as("no reply (and no refusal) while the first link has not proven itself")
                    .isInstanceOf(java.net.SocketTimeoutException.class);

            first.send(hello(Frame.FLAG_HELLO_PROOF, id, 1, Handshake.dialerMac(psk, firstRequest,
                    Handshake.withoutMac(firstReply))));
            HelloFrame secondReply = second.readUntil(HelloFrame.class, WAIT);
            assertThat(secondReply.isReply()).isTrue();
            second.send(hello(Frame.FLAG_HELLO_PROOF, id, 2, Handshake.dialerMac(psk, secondRequest,
                    Handshake.withoutMac(secondReply))));
            Session accepted = listener.accept(WAIT);
            await().atMost(WAIT).until(() -> accepted.numConnections() == 2);
            assertThat(listener.refusedLinks()).isZero();
            accepted.close();
        }
    }

    @Test
    void aJoinWaitingForAFirstLinkThatNeverProvesItselfIsRefusedAsUnknown() throws Exception {
        Config config = Config.builder().preSharedKey(bytes(32, 21)).build();
        SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        try (listener; ScriptedPeer second = ScriptedPeer.connect(port(listener))) {
            byte[] id = bytes(16, 22);
            try (ScriptedPeer first = ScriptedPeer.connect(port(listener))) {
                first.sendPreface().send(hello(Frame.FLAG_HELLO_NEW_SESSION, id, 1, bytes(16, 23)));
                first.readUntil(HelloFrame.class, WAIT);
                second.sendPreface().send(hello(0, id, 2, bytes(16, 24)));
                assertThatThrownBy(() -> second.read(Duration.ofMillis(200)))
                        .isInstanceOf(java.net.SocketTimeoutException.class);
            } // the first link goes away without its proof
            GoAwayFrame goAway = second.readUntil(GoAwayFrame.class, WAIT);
            assertThat(goAway.errorCode).isEqualTo(ErrorCode.UNKNOWN_SESSION);
            assertThat(goAway.message).contains("no session with id " + java.util.HexFormat.of().formatHex(id));
            assertThat(second.closedByPeer(WAIT)).isTrue();
        }
    }

    @Test
    void joiningAKnownSessionWithoutItsSecretIsRefusedAndCounted() throws Exception {
        withHealthySession(p -> {
            byte[] id = java.util.HexFormat.of().parseHex(p.server.id());
            try (ScriptedPeer peer = ScriptedPeer.connect(port(p.listener))) {
                peer.sendPreface().send(join(id, bytes(16, 1)));
                HelloFrame challenge = peer.readUntil(HelloFrame.class, WAIT);
                assertThat(challenge.isReply()).isTrue();
                assertThat(challenge.auth).hasSize(Handshake.NONCE_LENGTH + Handshake.MAC_LENGTH);
                // Without the session secret the best a stranger can do is guess the proof.
                peer.send(hello(Frame.FLAG_HELLO_PROOF, id, bytes(32, 2)));
                GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.AUTH_FAILED);
                assertThat(goAway.message).contains("failed to prove it holds the session secret of session "
                        + p.server.id());
                assertThat(peer.closedByPeer(WAIT)).isTrue();
            }
            assertThat(p.server.stats().refusedLinks()).isEqualTo(1);
        });
    }

    @Test
    void aMiddlewareMismatchFailsTheJoinWithBothChainsNamed() throws Exception {
        Middleware tagged = new Middleware() {
            @Override
            public String name() {
                return "tag-v1";
            }

            @Override
            public io.netty.buffer.ByteBuf processOutbound(int streamId, io.netty.buffer.ByteBuf chunk) {
                return chunk;
            }

            @Override
            public io.netty.buffer.ByteBuf processInbound(int streamId, io.netty.buffer.ByteBuf chunk) {
                return chunk;
            }
        };
        try (SessionListener listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"))) {
            Config client = Config.builder().middleware(List.of(Middleware.passthrough(), tagged)).build();
            assertThatThrownBy(() -> InvMux.connect(client, URI.create("tcp://127.0.0.1:" + port(listener))))
                    .isInstanceOfSatisfying(InvMuxException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
                        assertThat(e.getMessage()).contains("middleware chain mismatch")
                                .contains("[passthrough, tag-v1]").contains("[]");
                    });
        }
    }

    @Test
    void aReplayedHandshakeIsRefusedBecauseTheChallengeIsFresh() throws Exception {
        byte[] psk = bytes(32, 7);
        Config config = Config.builder().preSharedKey(psk).build();
        try (Pair p = Pair.tcp(config, 1)) {
            byte[] id = java.util.HexFormat.of().parseHex(p.server.id());
            byte[] clientNonce = bytes(16, 8);
            // A genuine join, recorded.
            HelloFrame request = join(id, clientNonce);
            HelloFrame recordedProof;
            try (ScriptedPeer peer = ScriptedPeer.connect(port(p.listener))) {
                peer.sendPreface().send(request);
                HelloFrame challenge = peer.readUntil(HelloFrame.class, WAIT);
                HelloFrame base = Handshake.withoutMac(challenge);
                assertThat(Arrays.copyOfRange(challenge.auth, 16, 48)).isEqualTo(
                        Handshake.accepterMac(psk, request, base));
                recordedProof = hello(Frame.FLAG_HELLO_PROOF, id, Handshake.dialerMac(psk, request, base));
                peer.send(recordedProof);
                await().atMost(WAIT).until(() -> p.server.numConnections() == 2);
            }
            await().atMost(WAIT).until(() -> p.server.numConnections() == 1);
            // The same bytes again: the accepting end's new nonce makes the old proof worthless.
            try (ScriptedPeer replay = ScriptedPeer.connect(port(p.listener))) {
                replay.sendPreface().send(request);
                replay.readUntil(HelloFrame.class, WAIT);
                replay.send(recordedProof);
                GoAwayFrame goAway = replay.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.AUTH_FAILED);
                assertThat(goAway.message).contains("pre-shared key");
            }
            assertThat(p.server.stats().refusedLinks()).isEqualTo(1);
            assertThat(p.server.numConnections()).isEqualTo(1);
        }
    }

    @Test
    void aWrongPreSharedKeyIsRefusedOnBothEnds() throws Exception {
        Config server = Config.builder().preSharedKey(bytes(32, 1)).build();
        Config client = Config.builder().preSharedKey(bytes(32, 2)).build();
        try (SessionListener listener = InvMux.listen(server, URI.create("tcp://127.0.0.1:0"))) {
            URI uri = URI.create("tcp://127.0.0.1:" + port(listener));
            assertThatThrownBy(() -> InvMux.connect(client, uri)).isInstanceOfSatisfying(InvMuxException.class,
                    e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTH_FAILED);
                        assertThat(e.getMessage()).contains("pre-shared key");
                    });
            assertThatThrownBy(() -> InvMux.connect(Config.defaults(), uri))
                    .isInstanceOfSatisfying(InvMuxException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.AUTH_FAILED);
                        assertThat(e.getMessage()).contains("requires a pre-shared key");
                    });
            assertThat(listener.sessions()).isEmpty();
            Session ok = InvMux.connect(server, uri, uri);
            assertThat(ok.numConnections()).isEqualTo(2);
            ok.close();
        }
    }

    @Test
    void aSilentPeerIsDetectedByKeepAlive() throws Exception {
        Config config = Config.builder().keepAliveInterval(Duration.ofMillis(50))
                .keepAliveTimeout(Duration.ofMillis(300)).resumeGracePeriod(Duration.ZERO).build();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Session> dialed = InvMux.dial(config,
                    List.of(URI.create("tcp://127.0.0.1:" + server.getLocalPort())));
            try (ScriptedPeer peer = ScriptedPeer.accept(server, WAIT)) {
                HelloFrame hello = peer.readUntil(HelloFrame.class, WAIT);
                assertThat(hello.newSession()).isTrue();
                assertThat(hello.auth).hasSize(Handshake.NONCE_LENGTH + Handshake.SECRET_LENGTH);
                byte[] secret = Arrays.copyOfRange(hello.auth, Handshake.NONCE_LENGTH, hello.auth.length);
                byte[] serverNonce = bytes(16, 4);
                HelloFrame base = new HelloFrame(Frame.FLAG_ACK | Frame.FLAG_HELLO_NEW_SESSION,
                        hello.sessionId, hello.linkId, hello.maxChunkSize, hello.streamWindow, hello.sessionWindow,
                        List.of(), serverNonce);
                byte[] mac = Handshake.accepterMac(secret, hello, base);
                byte[] auth = Arrays.copyOf(serverNonce, 48);
                System.arraycopy(mac, 0, auth, 16, 32);
                peer.sendPreface().send(new HelloFrame(base.flags, base.sessionId, base.linkId, base.maxChunkSize,
                        base.streamWindow, base.sessionWindow, base.middleware, auth));
                HelloFrame proof = peer.readUntil(HelloFrame.class, WAIT);
                assertThat(proof.isProof()).isTrue();
                assertThat(proof.auth).isEqualTo(Handshake.dialerMac(secret, hello, base));
                Session session = dialed.get(10, TimeUnit.SECONDS);
                long start = System.nanoTime();
                // The peer now says nothing: no PONG, no frame at all.
                assertThat(session.closeFuture()).failsWithin(WAIT).withThrowableThat()
                        .havingRootCause().isInstanceOfSatisfying(SessionClosedException.class,
                                e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.LINKS_LOST));
                long detectedMs = (System.nanoTime() - start) / 1_000_000;
                assertThat(detectedMs).isGreaterThanOrEqualTo(250);
                // The dead link was told why before it was closed.
                GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.KEEPALIVE_TIMEOUT);
                assertThat(goAway.message).contains("no frame received");
            }
        }
    }
}
