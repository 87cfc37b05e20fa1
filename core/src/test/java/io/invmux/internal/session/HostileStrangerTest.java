package io.invmux.internal.session;

import static io.invmux.internal.session.HostileTarget.WAIT;
import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.internal.frame.FrameType;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.testing.ScriptedPeer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Strangers before authentication: links that start handshakes and stall, or announce a huge HELLO. Each test
 * checks the bound (handshakes in flight, bytes a HELLO may claim), the error code the offender gets, and that an
 * honest session on the same listener streams its transfer intact meanwhile.
 */
class HostileStrangerTest {
    @Test
    void stalledHandshakesBeyondThePerAddressAndPerListenerCapsAreRefusedWithLimitExceeded() throws Exception {
        Config config = Config.builder().maxHandshakesPerAddress(4).maxHandshakes(6)
                .handshakeTimeout(Duration.ofSeconds(60)).build();
        try (HostileTarget target = HostileTarget.start(config)) {
            MuxSessionListener listener = (MuxSessionListener) target.listener;
            List<ScriptedPeer> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    stalled.add(ScriptedPeer.connect(target.port).sendPreface());
                }
                // Accepted channels start on several event loops: let these four be counted before the fifth.
                org.awaitility.Awaitility.await().atMost(WAIT).until(() -> listener.handshakesInFlight() == 4);
                try (ScriptedPeer fifth = ScriptedPeer.connect(target.port)) {
                    GoAwayFrame goAway = fifth.readUntil(GoAwayFrame.class, WAIT);
                    assertThat(goAway.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
                    assertThat(goAway.message).contains("maxHandshakesPerAddress (4)");
                }
                InetAddress other = InetAddress.getByName("127.0.0.2");
                for (int i = 0; i < 2; i++) {
                    stalled.add(ScriptedPeer.connect(target.port, other).sendPreface());
                }
                org.awaitility.Awaitility.await().atMost(WAIT).until(() -> listener.handshakesInFlight() == 6);
                try (ScriptedPeer seventh = ScriptedPeer.connect(target.port, InetAddress.getByName("127.0.0.3"))) {
                    GoAwayFrame goAway = seventh.readUntil(GoAwayFrame.class, WAIT);
                    assertThat(goAway.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
                    assertThat(goAway.message).contains("maxHandshakes (6)");
                }
                assertThat(listener.handshakesInFlight()).isEqualTo(6);
                assertThat(listener.limitsHit()).containsEntry("maxHandshakesPerAddress", 1L)
                        .containsEntry("maxHandshakes", 1L);
                target.assertHonestTransferIntact();
                target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
            } finally {
                for (ScriptedPeer p : stalled) {
                    p.close();
                }
            }
            // Their places are free again once they are gone.
            org.awaitility.Awaitility.await().atMost(WAIT).until(() -> listener.handshakesInFlight() == 0);
            try (ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
                peer.startSession(HostileTarget.sessionId(20), config.windowSize(), config.sessionWindowSize(),
                        WAIT);
                assertThat(target.acceptAttacker().isClosed()).isFalse();
            }
        }
    }

    /**
     * A HELLO header announcing 60,000 bytes (the wire allows 66 KiB, for 255 middleware names) is refused from the
     * header alone: this end's HELLO cap follows its own middleware chain, which the peer's must equal.
     */
    @Test
    void aHelloLongerThanThisEndsChainCanNeedIsRefusedFromItsHeader() throws Exception {
        Config config = Config.builder().handshakeTimeout(Duration.ofSeconds(60)).build();
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer peer = ScriptedPeer.connect(target.port)) {
            peer.sendPreface().sendRaw(new byte[] {FrameType.HELLO, 1, 0, 0, 0, 0, 0, 0, (byte) 0xEA, 0x60});
            GoAwayFrame goAway = peer.readUntil(GoAwayFrame.class, Duration.ofSeconds(10));
            assertThat(goAway.errorCode).isEqualTo(ErrorCode.FRAME_SIZE_ERROR);
            assertThat(goAway.message).contains("HELLO frame payload of 60000 bytes exceeds the limit of "
                    + io.invmux.internal.frame.HelloFrame.maxPayload(List.of()));
            assertThat(peer.closedByPeer(WAIT)).isTrue();
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    @Test
    void aSessionBeyondMaxSessionsIsRefusedWithLimitExceeded() throws Exception {
        Config config = Config.builder().maxSessions(2).build();
        try (HostileTarget target = HostileTarget.start(config); // the honest session is the first
                ScriptedPeer second = ScriptedPeer.connect(target.port);
                ScriptedPeer third = ScriptedPeer.connect(target.port)) {
            second.startSession(HostileTarget.sessionId(21), config.windowSize(), config.sessionWindowSize(), WAIT);
            target.acceptAttacker();
            third.sendPreface().send(new io.invmux.internal.frame.HelloFrame(
                    io.invmux.internal.frame.Frame.FLAG_HELLO_NEW_SESSION, HostileTarget.sessionId(22), 1,
                    config.maxChunkSize(), config.windowSize(), config.sessionWindowSize(), List.of(), new byte[48]));
            GoAwayFrame goAway = third.readUntil(GoAwayFrame.class, WAIT);
            assertThat(goAway.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
            assertThat(goAway.message).contains("maxSessions (2)");
            assertThat(target.listener.sessions()).hasSize(2);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }

    @Test
    void aLinkBeyondMaxLinksPerSessionIsRefusedWithLimitExceeded() throws Exception {
        Config config = Config.builder().maxLinksPerSession(2).build();
        byte[] id = HostileTarget.sessionId(23);
        try (HostileTarget target = HostileTarget.start(config);
                ScriptedPeer first = ScriptedPeer.connect(target.port);
                ScriptedPeer second = ScriptedPeer.connect(target.port);
                ScriptedPeer third = ScriptedPeer.connect(target.port)) {
            first.startSession(id, config.windowSize(), config.sessionWindowSize(), WAIT);
            MuxSession victim = target.acceptAttacker();
            assertThat(second.joinSession(id, 2, WAIT)).isInstanceOf(io.invmux.internal.frame.HelloFrame.class);
            org.awaitility.Awaitility.await().atMost(WAIT).until(() -> victim.numConnections() == 2);
            io.invmux.internal.frame.Frame refused = third.joinSession(id, 3, WAIT);
            assertThat(refused).isInstanceOfSatisfying(GoAwayFrame.class, g -> {
                assertThat(g.errorCode).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
                assertThat(g.message).contains("maxLinksPerSession (2)");
            });
            assertThat(victim.numConnections()).isEqualTo(2);
            target.assertHonestTransferIntact();
            target.assertMemoryBounded(HostileTarget.DIRECT_MEMORY_BOUND);
        }
    }
}
